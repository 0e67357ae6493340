"""Faults and bad input: MongoDB refusing or silent, OUTPUT_DIR missing, read-only, full or
holding foreign files, and many analyses at once. The app keeps serving, says what happened,
and never leaves a partial report or a stray process behind."""
