"""Tests of whole processes and pages: hallctl up, SIGKILL crashes, the soak, headless Chromium."""
