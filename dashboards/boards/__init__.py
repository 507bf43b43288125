"""One module per dashboard family; each `build` turns a stack's facts into panels."""
