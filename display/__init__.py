"""Pure renderers: a hall state snapshot in, a scene (screen, LED text, voice clips) out."""
