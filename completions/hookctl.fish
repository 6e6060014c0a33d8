# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_hookctl_global_optspecs
    string join \n color= v/verbose q/quiet config= profile= h/help V/version
end

function __fish_hookctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_hookctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_hookctl_using_subcommand
    set -l cmd (__fish_hookctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c hookctl -n "__fish_hookctl_needs_command" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_needs_command" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_needs_command" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_needs_command" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_needs_command" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_needs_command" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_needs_command" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "listen" -d 'Run a local webhook receiver that prints, captures, checks and answers deliveries'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "send" -d 'Send a sample event, or your own body, optionally signed like a real provider'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "replay" -d 'Resend captured events byte for byte'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "verify" -d 'Check the signatures of captured events offline'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "relay" -d 'Deliver events from a RabbitMQ queue or a Kafka topic to a URL: retries, dead-lettering, at least once'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "serve" -d 'Run a self-hosted webhook relay: durable, resumable, private channels over SSE'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "channel" -d 'Manage channels on a relay (`hookctl serve`)'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "inspect" -d 'Browse, search, replay and export a capture (.jsonl) or HAR (.har) file in a web page'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "config" -d 'Show the settings in effect from hookctl.toml, the environment and the defaults'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c hookctl -n "__fish_hookctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l host -d 'Address to bind. Use 0.0.0.0 only if other machines must reach you' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -s p -l port -d 'Port to bind; 0 picks a free one (the address is announced on stderr)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l capture -d 'Append every delivery to FILE as one JSON line (written before the response)' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l max-print-lines -d 'The most lines of one body printed; the rest is left out with a note (the capture keeps every byte)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l max-print-bytes -d 'The most bytes of one body\'s rendering printed' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l max-body -d 'Largest body accepted; larger ones get 413' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l header-timeout -d 'How long a client may take to send a request\'s headers (and how long an idle keep-alive connection stays open)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l body-timeout -d 'How long a client may take to send a whole body; slower ones get 408' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l max-connections -d 'Connections served at once. Further ones wait for a slot (up to 10s, 8 per slot); past that they are answered 503 with Retry-After: 1' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l ready-file -d 'Write the bound URL to PATH once the port accepts connections' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l expect -d 'Wait for an event matching EXPR (type=GLOB, path=GLOB, method=M, header.NAME=GLOB, body.PATH=JSON; comma-separated predicates are ANDed). Repeat for several events' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l count -d 'Exit after N deliveries (when no --expect is given)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l timeout -d 'Give up after DURATION: exit 4 if --expect/--count are unmet, else exit 0' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l only-tag -d 'Only print, count and capture deliveries carrying X-Hookctl-Tag: RUN_ID' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l status -d 'Answer every delivery with STATUS' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l respond -d 'Answer deliveries with this sequence of statuses; the last one repeats' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l fail-rate -d 'Answer this fraction of deliveries (0.0 to 1.0) with 500' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l seed -d 'Seed for --fail-rate, to make the choice repeatable' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l delay -d 'Hold each response for DURATION before answering' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l retry-after -d 'Retry-After value sent with 429 and 503 answers' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l response-body -d 'Response body: text, or @FILE' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l response-header -d 'Extra response header \'Name: value\' (repeatable)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l verify -d 'Verify each delivery\'s signature with SCHEME (standard, stripe, github, shopify, slack, hmac)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l verify-mode -d 'reject: answer 401 on a bad signature; warn: answer normally and only report' -r -f -a "reject\t''
warn\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l tolerance -d 'Accept signature timestamps this far from now; 0 disables the check' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l secret -d 'Signing secret (repeatable for key rotation on verify). Never printed or captured' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l signature-header -d 'Header for the generic `hmac` scheme' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l encoding -d 'Encoding for the generic `hmac` scheme' -r -f -a "hex\t''
base64\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l prefix -d 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l forward-to -d 'Relay every delivery to your app at URL and answer with the app\'s response. With --route it is one more route, `forward:*` to URL' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l forward-timeout -d 'Timeout for each forward attempt' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l forward-retries -d 'Retries for a failed forward' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l publish -d 'Publish each event to RabbitMQ (amqp://USER:PASS@HOST:PORT/VHOST) with publisher confirms, or to Kafka (kafka://HOST:PORT/TOPIC) with acks=all. listen answers 2xx only once the broker confirmed, else 503; send publishes instead of sending HTTP' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l exchange -d 'Exchange to publish to: a durable topic exchange, declared if missing. The routing key is the event type, or `unknown`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l queue -d 'Also declare a durable queue bound to the exchange, so events wait there for a relay' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l binding -d 'Binding key of --queue, in topic syntax: # is everything, payment.* one word' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l source -d 'Subscribe to a relay channel (a `hookctl serve` URL, or https://smee.io/CHANNEL) and treat each relayed event like a delivery to this port. Repeatable' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l token -d 'The channel\'s subscribe token (sent as Authorization: Bearer; never printed). A `?token=` in a --source URL wins' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l source-state -d 'Where the last event id of each source is kept, so a restart resumes after it (default: CAPTURE.source-state with --capture)' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l route -d 'Send events matching EXPR to TARGET (repeatable; an event goes to every route it matches). EXPR is --expect\'s syntax, or * for every event; prefix it with NAME: to name the route, and with first: to send what it takes to no later route. TARGET is an http(s):// URL (with --forward-retries and --forward-timeout), amqp://…?exchange=X&queue=Q, kafka://…, file:PATH or drop. The sender gets 2xx only once every route taken accepted the event' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l unrouted -d 'Answer events that no route takes with STATUS (e.g. 404) instead of as usual' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l ui-port -d 'Serve the inspector on this port instead of listen\'s own (0 picks a free one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l ui-token -d 'Token that guards the inspector; required to serve it off loopback (--host 0.0.0.0). Open the page with #token=TOKEN. At least 16 characters' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l fsync -d 'fsync the capture file before answering, for power-loss durability'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l json -d 'Print each delivery to stdout as one NDJSON line, and nothing else'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l ready-json -d 'With --json, print a `ready` record ({"kind":"ready","url":…,"pid":…}) before the events'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -s c -l compact -d 'One aligned line per event: time, method, path, type, id, size, status, verification and forwarding. The default on a terminal too narrow for the full view, or when events arrive faster than 5 a second'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l full -d 'Always the full view (summary line and body), never switching to --compact'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l ack-first -d 'Answer 200 at once and forward (or route) in the background'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l exit-on-forward-failure -d 'Exit non-zero (3) once a forward finally fails'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l no-port -d 'Do not open the local port: events come only from --source'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l ui -d 'Serve the web inspector at http://HOST:PORT/_hookctl/: every event live, searchable, replayable. Requests under /_hookctl/ are never deliveries'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -l open -d 'Open the inspector in the browser'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand listen" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l list -d 'List the samples and flows, grouped by provider; with PROVIDER, only that provider\'s' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l samples -d 'Folder of your own samples and flows (JSON or YAML) [default: ./hookctl/samples]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l format -d 'Send the event as it is, or as a CloudEvent: cloudevents (binary mode, ce-* headers) or cloudevents-structured (application/cloudevents+json)' -r -f -a "plain\t''
cloudevents\t''
cloudevents-structured\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l seed -d 'Make ids and times repeatable: the same seed gives the same bytes (the clock is 2026-01-01T00:00:00Z unless --timestamp pins it)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l gap -d 'Pause between a flow\'s steps instead of its realistic gaps; 0 sends them at once (at most 1h)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l to -d 'Where to send' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -s d -l data -d 'Your own body, sent byte for byte (unless --set edits it): inline JSON, @FILE, or - for stdin' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l set -d 'Change a field at a dot path, e.g. data.amount=4200 or data.line_items.0.quantity=3; the field must exist. VALUE is JSON when it parses (12, true, {"a":1}), else a string' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l set-new -d 'Add a field at a dot path, creating objects on the way (applied before --set)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -s H -l header -d 'Extra request header \'Name: value\' (repeatable)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -s X -l method -d 'HTTP method' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -s n -l count -d 'Send N events, each with a fresh id and timestamp' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l sign -d 'Sign like a provider does: standard, stripe, github, shopify, slack, hmac. Without SCHEME, the sample\'s provider\'s scheme (a provider sample is signed by itself whenever a secret is given)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l id -d 'Pin the event id (for reproducible signed requests)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l timestamp -d 'Pin the signature timestamp, in Unix seconds' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l secret -d 'Signing secret (repeatable for key rotation on verify). Never printed or captured' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l signature-header -d 'Header for the generic `hmac` scheme' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l encoding -d 'Encoding for the generic `hmac` scheme' -r -f -a "hex\t''
base64\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l prefix -d 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l timeout -d 'Timeout for each attempt' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l retries -d 'Retries after a failed attempt (connection error, timeout, 5xx, 408, 429)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l backoff -d 'Base of the exponential backoff between retries (full jitter)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -s c -l concurrency -d 'Deliveries in flight at once. Above 1, events may arrive out of order' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l rate -d 'Cap throughput, e.g. 50/s or 600/m' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l dead-letter -d 'Append every event that finally failed to FILE, in the capture format' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l tag -d 'Add an X-Hookctl-Tag: RUN_ID header, for `listen --only-tag`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l publish -d 'Publish each event to RabbitMQ (amqp://USER:PASS@HOST:PORT/VHOST) with publisher confirms, or to Kafka (kafka://HOST:PORT/TOPIC) with acks=all. listen answers 2xx only once the broker confirmed, else 503; send publishes instead of sending HTTP' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l exchange -d 'Exchange to publish to: a durable topic exchange, declared if missing. The routing key is the event type, or `unknown`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l queue -d 'Also declare a durable queue bound to the exchange, so events wait there for a relay' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l binding -d 'Binding key of --queue, in topic syntax: # is everything, payment.* one word' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l names -d 'With --list: only the names, one a line (what shell completion can call)'
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l dry-run -d 'Print the event that would be sent (capture format) and send nothing'
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -l json -d 'Print one NDJSON result per event (with -q, only failed ones) and a summary record to stdout'
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand send" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l to -d 'Scheme, host and port to send to; a path other than / replaces the captured path' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l id -d 'Replay only the event with this id (repeatable). An id not in FILE is an error' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l filter -d 'Replay only events matching KEY=VALUE: id, type, path, status (globs; 5xx for a class), method, header.NAME (glob) or body.PATH (JSON). Filters on the same key are alternatives, on different keys all must hold; commas join several in one flag' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l speed -d 'Keep the original gaps between events, divided by X (1 is real time)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l resign -d 'Replace the captured signatures with fresh ones (new timestamp). Events captured with a failed verification are skipped, so a forgery is never made valid' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l route -d 'Send the events matching EXPR to TARGET instead of to --to (repeatable; as `listen --route`: NAME: and first: prefixes; http(s):// URL, amqp://…, kafka://…, file:PATH or drop). HTTP routes use the delivery options' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l secret -d 'Signing secret (repeatable for key rotation on verify). Never printed or captured' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l signature-header -d 'Header for the generic `hmac` scheme' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l encoding -d 'Encoding for the generic `hmac` scheme' -r -f -a "hex\t''
base64\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l prefix -d 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l timeout -d 'Timeout for each attempt' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l retries -d 'Retries after a failed attempt (connection error, timeout, 5xx, 408, 429)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l backoff -d 'Base of the exponential backoff between retries (full jitter)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -s c -l concurrency -d 'Deliveries in flight at once. Above 1, events may arrive out of order' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l rate -d 'Cap throughput, e.g. 50/s or 600/m' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l dead-letter -d 'Append every event that finally failed to FILE, in the capture format' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l tag -d 'Add an X-Hookctl-Tag: RUN_ID header, for `listen --only-tag`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l dry-run -d 'Print the events that would be sent (capture format) and send nothing'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l skip-invalid -d 'Report malformed lines and go on, instead of stopping'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l follow -d 'Keep FILE open and replay lines appended to it, like tail -f'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l from-end -d 'With --follow, start at the end of FILE: only new lines are replayed'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l resign-unverified -d 'With --resign, also re-sign and send events that failed verification when captured'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l new-ids -d 'Give each replayed event a new id'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -l json -d 'Print one NDJSON result per event (with -q, only failed ones) and a summary record to stdout'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand replay" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l scheme -d 'Signature scheme: standard, stripe, github, shopify, slack, hmac' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l tolerance -d 'Accept signature timestamps this far from the time each event was received (its received_at), or from now with --now; 0 disables the check' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l secret -d 'Signing secret (repeatable for key rotation on verify). Never printed or captured' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l signature-header -d 'Header for the generic `hmac` scheme' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l encoding -d 'Encoding for the generic `hmac` scheme' -r -f -a "hex\t''
base64\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l prefix -d 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l now -d 'Measure timestamps against the current time instead of each event\'s received_at'
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -l json -d 'Print one NDJSON result per event'
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand verify" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l queue -d 'RabbitMQ queue to consume: declared durable and bound to --exchange with --binding if missing' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l group -d 'Kafka consumer group: relays in one group share the topic\'s partitions' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l dead-letter-topic -d 'Kafka topic for failed and invalid messages [default: TOPIC.dead-letter]' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l route -d 'Send the events matching EXPR to TARGET instead of to --to (repeatable; as `listen --route`). A message is settled once every route it took accepted it' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l to -d 'Scheme, host and port to deliver to; a path other than / replaces the events\' paths' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -s n -l count -d 'Stop after taking N messages' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l exchange -d 'Exchange the queue is bound to (a durable topic exchange)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l binding -d 'Binding key of the queue, in topic syntax: # is everything' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l dead-letter-exchange -d 'Exchange for failed and invalid messages [default: EXCHANGE.dead-letter]' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l dead-letter-queue -d 'Durable queue that keeps the dead letters [default: QUEUE.dead-letter]' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l resign -d 'Replace the signatures with fresh ones (new timestamp) on every attempt' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l secret -d 'Signing secret (repeatable for key rotation on verify). Never printed or captured' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l signature-header -d 'Header for the generic `hmac` scheme' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l encoding -d 'Encoding for the generic `hmac` scheme' -r -f -a "hex\t''
base64\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l prefix -d 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l timeout -d 'Timeout for each attempt' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l retries -d 'Retries after a failed attempt (connection error, timeout, 5xx, 408, 429)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l backoff -d 'Base of the exponential backoff between retries (full jitter)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -s c -l concurrency -d 'Deliveries in flight at once. Above 1, events may arrive out of order' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l rate -d 'Cap throughput, e.g. 50/s or 600/m' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l dead-letter -d 'Append every event that finally failed to FILE, in the capture format' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l tag -d 'Add an X-Hookctl-Tag: RUN_ID header, for `listen --only-tag`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -l json -d 'Print one NDJSON result per event (with -q, only failed ones) and a summary record to stdout'
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand relay" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l host -d 'Address to bind. Use 0.0.0.0 to serve providers on the internet' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -s p -l port -d 'Port to bind; 0 picks a free one (the address is announced on stderr)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l data -d 'Folder for channels and their event logs (created if missing)' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l public-url -d 'The URL providers reach this relay at (behind a proxy), for the channel URLs handed out; by default the request\'s Host' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l retain -d 'Keep each channel\'s events this long' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l retain-events -d 'Keep at most this many events per channel' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l max-body -d 'Largest body accepted; larger ones get 413' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l header-timeout -d 'How long a client may take to send a request\'s headers (and the TLS handshake)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l body-timeout -d 'How long a client may take to send a whole body; slower ones get 408' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l max-connections -d 'Connections served at once, subscribers included. Further ones wait for a slot (up to 10s); past that they are answered 503' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l rate-limit -d 'Deliveries each channel takes at most (e.g. 50/s, 600/m), with a burst of one second\'s worth; further ones get 429 with Retry-After' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l max-channels -d 'Channels this relay holds at most; `POST /new` answers 503 past it' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l stall-timeout -d 'Drop a subscriber (any connection) whose connection takes nothing for this long while an event waits to be written; it resumes from the log when it reconnects. 1s to 1h' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l tls-cert -d 'Serve HTTPS with this certificate chain (PEM)' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l tls-key -d 'The private key of --tls-cert (PEM)' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l create-token -d 'Bearer token `POST /new` requires, so only you create channels; without one anyone who reaches the relay can (up to --max-channels)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l metrics-token -d 'Bearer token `/metrics` requires; without one, only clients on this machine get metrics' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l verify -d 'Check signatures at the relay for CHANNEL (`*` for every other channel) with SCHEME (standard, stripe, github, shopify, slack), the secret read from the environment variable ENV (default HOOKCTL_SECRET). Forged or expired deliveries get 401 and are not stored. Repeatable' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l tolerance -d 'How far a signed timestamp may be from now (stripe, standard, slack); older ones are replays' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l log-format -d 'Log lines on stderr as text or as one JSON object per line' -r -f -a "text\t''
json\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l broker -d 'Share channels with other serve instances (behind one load balancer) through RabbitMQ streams (amqp://USER:PASS@HOST:PORT/VHOST): a POST to any instance reaches subscribers on every one, and a resume works on any. Needs a fresh --data folder' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l broker-stream -d 'The stream queue the instances share (channels go to NAME.channels)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -l fsync -d 'fsync each write before answering, for power-loss durability'
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand serve" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and not __fish_seen_subcommand_from new help" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and not __fish_seen_subcommand_from new help" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and not __fish_seen_subcommand_from new help" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and not __fish_seen_subcommand_from new help" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and not __fish_seen_subcommand_from new help" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and not __fish_seen_subcommand_from new help" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and not __fish_seen_subcommand_from new help" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and not __fish_seen_subcommand_from new help" -f -a "new" -d 'Create a channel on a relay and print its URL (for the provider) and its token (for subscribing)'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and not __fish_seen_subcommand_from new help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -l server -d 'The relay\'s URL' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -l create-token -d 'The relay\'s --create-token, when it has one' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -l cacert -d 'Also trust this CA certificate (PEM) for an https:// relay, e.g. a self-signed one' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -l timeout -d 'How long to wait for the relay' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -l json -d 'Print `{"channel": …, "url": …, "token": …}` on one line, for scripts'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from new" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from help" -f -a "new" -d 'Create a channel on a relay and print its URL (for the provider) and its token (for subscribing)'
complete -c hookctl -n "__fish_hookctl_using_subcommand channel; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l host -d 'Address to bind. Off loopback, --ui-token is required' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -s p -l port -d 'Port to serve the inspector on; 0 picks a free one (announced on stderr)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l to -d 'Where replays go unless another URL is typed in the page' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l timeout -d 'Timeout for each replay' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l ui-token -d 'Token that guards the inspector; required off loopback. Open the page with #token=TOKEN. At least 16 characters' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l secret -d 'Signing secret (repeatable for key rotation on verify). Never printed or captured' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l signature-header -d 'Header for the generic `hmac` scheme' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l encoding -d 'Encoding for the generic `hmac` scheme' -r -f -a "hex\t''
base64\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l prefix -d 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -l open -d 'Open the inspector in the browser'
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Print each setting of a command, its value and where it came from: a flag, an environment variable, hookctl.toml (file, line and profile) or the built-in default'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and __fish_seen_subcommand_from show" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and __fish_seen_subcommand_from show" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and __fish_seen_subcommand_from show" -l json -d 'Print one NDJSON record (`kind: config`) instead of text'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print each setting of a command, its value and where it came from: a flag, an environment variable, hookctl.toml (file, line and profile) or the built-in default'
complete -c hookctl -n "__fish_hookctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hookctl -n "__fish_hookctl_using_subcommand completions" -l color -d 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c hookctl -n "__fish_hookctl_using_subcommand completions" -l config -d 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]' -r -F
complete -c hookctl -n "__fish_hookctl_using_subcommand completions" -l profile -d 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)' -r
complete -c hookctl -n "__fish_hookctl_using_subcommand completions" -s v -l verbose -d 'Show more: headers, response bodies, every result'
complete -c hookctl -n "__fish_hookctl_using_subcommand completions" -s q -l quiet -d 'Show less: no per-event output on the terminal, only errors and the summary'
complete -c hookctl -n "__fish_hookctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c hookctl -n "__fish_hookctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "listen" -d 'Run a local webhook receiver that prints, captures, checks and answers deliveries'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "send" -d 'Send a sample event, or your own body, optionally signed like a real provider'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "replay" -d 'Resend captured events byte for byte'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "verify" -d 'Check the signatures of captured events offline'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "relay" -d 'Deliver events from a RabbitMQ queue or a Kafka topic to a URL: retries, dead-lettering, at least once'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "serve" -d 'Run a self-hosted webhook relay: durable, resumable, private channels over SSE'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "channel" -d 'Manage channels on a relay (`hookctl serve`)'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "inspect" -d 'Browse, search, replay and export a capture (.jsonl) or HAR (.har) file in a web page'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "config" -d 'Show the settings in effect from hookctl.toml, the environment and the defaults'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and not __fish_seen_subcommand_from listen send replay verify relay serve channel inspect config completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and __fish_seen_subcommand_from channel" -f -a "new" -d 'Create a channel on a relay and print its URL (for the provider) and its token (for subscribing)'
complete -c hookctl -n "__fish_hookctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print each setting of a command, its value and where it came from: a flag, an environment variable, hookctl.toml (file, line and profile) or the built-in default'
