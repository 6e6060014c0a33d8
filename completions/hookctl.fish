complete --keep-order --exclusive --command hookctl --arguments "(HOOKCTL_COMPLETE=fish hookctl -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
