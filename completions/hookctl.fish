complete --keep-order --exclusive --command hookctl --arguments "(COMPLETE=fish hookctl -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
