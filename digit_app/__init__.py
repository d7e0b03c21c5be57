"""digit_app: handwritten-digit recognition studio."""
