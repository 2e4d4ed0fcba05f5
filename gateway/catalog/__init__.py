"""Where item details come from: one module per catalog source, and `load` to build one."""
