"""The OpenCV side: pipeline definitions (JSON), analysis steps and the frame loop."""
