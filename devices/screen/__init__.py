"""The TV calling screen (叫号屏): drawing a scene with pygame."""
