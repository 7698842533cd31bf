"""The shared boundaries editor: a Yjs document per couple, co-edited live, agreed by both."""
