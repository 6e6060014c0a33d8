
set edit:completion:arg-completer[hookctl] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) HOOKCTL_COMPLETE="elvish" hookctl -- $@words) | to-lines
}

