"""Python side of lmnet: PyTorch mirrors of lmnet's presets, data readers, weight export."""
