
use builtin;
use str;

set edit:completion:arg-completer[hookctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'hookctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'hookctl'= {
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand listen 'Run a local webhook receiver that prints, captures, checks and answers deliveries'
            cand send 'Send a sample event, or your own body, optionally signed like a real provider'
            cand replay 'Resend captured events byte for byte'
            cand verify 'Check the signatures of captured events offline'
            cand relay 'Deliver events from a RabbitMQ queue to a URL: retries, dead-lettering, at least once'
            cand serve 'Run a self-hosted webhook relay: durable, resumable, private channels over SSE'
            cand channel 'Manage channels on a relay (`hookctl serve`)'
            cand config 'Show the settings in effect from hookctl.toml, the environment and the defaults'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hookctl;listen'= {
            cand --host 'Address to bind. Use 0.0.0.0 only if other machines must reach you'
            cand -p 'Port to bind; 0 picks a free one (the address is announced on stderr)'
            cand --port 'Port to bind; 0 picks a free one (the address is announced on stderr)'
            cand --capture 'Append every delivery to FILE as one JSON line (written before the response)'
            cand --max-print-lines 'The most lines of one body printed; the rest is left out with a note (the capture keeps every byte)'
            cand --max-print-bytes 'The most bytes of one body''s rendering printed'
            cand --max-body 'Largest body accepted; larger ones get 413'
            cand --header-timeout 'How long a client may take to send a request''s headers (and how long an idle keep-alive connection stays open)'
            cand --body-timeout 'How long a client may take to send a whole body; slower ones get 408'
            cand --max-connections 'Connections served at once. Further ones wait for a slot (up to 10s, 8 per slot); past that they are answered 503 with Retry-After: 1'
            cand --ready-file 'Write the bound URL to PATH once the port accepts connections'
            cand --expect 'Wait for an event matching EXPR (type=GLOB, path=GLOB, method=M, header.NAME=GLOB, body.PATH=JSON; comma-separated predicates are ANDed). Repeat for several events'
            cand --count 'Exit after N deliveries (when no --expect is given)'
            cand --timeout 'Give up after DURATION: exit 4 if --expect/--count are unmet, else exit 0'
            cand --only-tag 'Only print, count and capture deliveries carrying X-Hookctl-Tag: RUN_ID'
            cand --status 'Answer every delivery with STATUS'
            cand --respond 'Answer deliveries with this sequence of statuses; the last one repeats'
            cand --fail-rate 'Answer this fraction of deliveries (0.0 to 1.0) with 500'
            cand --seed 'Seed for --fail-rate, to make the choice repeatable'
            cand --delay 'Hold each response for DURATION before answering'
            cand --retry-after 'Retry-After value sent with 429 and 503 answers'
            cand --response-body 'Response body: text, or @FILE'
            cand --response-header 'Extra response header ''Name: value'' (repeatable)'
            cand --verify 'Verify each delivery''s signature with SCHEME (standard, stripe, github, shopify, slack, hmac)'
            cand --verify-mode 'reject: answer 401 on a bad signature; warn: answer normally and only report'
            cand --tolerance 'Accept signature timestamps this far from now; 0 disables the check'
            cand --secret 'Signing secret (repeatable for key rotation on verify). Never printed or captured'
            cand --signature-header 'Header for the generic `hmac` scheme'
            cand --encoding 'Encoding for the generic `hmac` scheme'
            cand --prefix 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`'
            cand --forward-to 'Relay every delivery to your app at URL and answer with the app''s response'
            cand --forward-timeout 'Timeout for each forward attempt'
            cand --forward-retries 'Retries for a failed forward'
            cand --publish 'Publish each event to RabbitMQ (amqp://USER:PASS@HOST:PORT/VHOST) with publisher confirms, or to Kafka (kafka://HOST:PORT/TOPIC) with acks=all. listen answers 2xx only once the broker confirmed, else 503; send publishes instead of sending HTTP'
            cand --exchange 'Exchange to publish to: a durable topic exchange, declared if missing. The routing key is the event type, or `unknown`'
            cand --queue 'Also declare a durable queue bound to the exchange, so events wait there for a relay'
            cand --binding 'Binding key of --queue, in topic syntax: # is everything, payment.* one word'
            cand --source 'Subscribe to a relay channel (a `hookctl serve` URL, or https://smee.io/CHANNEL) and treat each relayed event like a delivery to this port. Repeatable'
            cand --token 'The channel''s subscribe token (sent as Authorization: Bearer; never printed). A `?token=` in a --source URL wins'
            cand --source-state 'Where the last event id of each source is kept, so a restart resumes after it (default: CAPTURE.source-state with --capture)'
            cand --route 'Send events matching EXPR to TARGET (repeatable; an event goes to every route it matches). EXPR is --expect''s syntax, or * for every event; prefix it with NAME: to name the route, and with first: to send what it takes to no later route. TARGET is an http(s):// URL (with --forward-retries and --forward-timeout), amqp://…, kafka://…, file:PATH or drop. The sender gets 2xx only once every route taken accepted the event'
            cand --unrouted 'Answer events that no route takes with STATUS (e.g. 404) instead of as usual'
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand --fsync 'fsync the capture file before answering, for power-loss durability'
            cand --json 'Print each delivery to stdout as one NDJSON line, and nothing else'
            cand --ready-json 'With --json, print a `ready` record ({"kind":"ready","url":…,"pid":…}) before the events'
            cand -c 'One aligned line per event: time, method, path, type, id, size, status, verification and forwarding. The default on a terminal too narrow for the full view, or when events arrive faster than 5 a second'
            cand --compact 'One aligned line per event: time, method, path, type, id, size, status, verification and forwarding. The default on a terminal too narrow for the full view, or when events arrive faster than 5 a second'
            cand --full 'Always the full view (summary line and body), never switching to --compact'
            cand --ack-first 'Answer 200 at once and forward (or route) in the background'
            cand --exit-on-forward-failure 'Exit non-zero (3) once a forward finally fails'
            cand --no-port 'Do not open the local port: events come only from --source'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hookctl;send'= {
            cand --to 'Where to send'
            cand -d 'Your own body, sent byte for byte (unless --set edits it): inline JSON, @FILE, or - for stdin'
            cand --data 'Your own body, sent byte for byte (unless --set edits it): inline JSON, @FILE, or - for stdin'
            cand --set 'Change a field at a dot path, e.g. data.amount=4200 or data.line_items.0.quantity=3; the field must exist. VALUE is JSON when it parses (12, true, {"a":1}), else a string'
            cand --set-new 'Add a field at a dot path, creating objects on the way (applied before --set)'
            cand -H 'Extra request header ''Name: value'' (repeatable)'
            cand --header 'Extra request header ''Name: value'' (repeatable)'
            cand -X 'HTTP method'
            cand --method 'HTTP method'
            cand -n 'Send N events, each with a fresh id and timestamp'
            cand --count 'Send N events, each with a fresh id and timestamp'
            cand --sign 'Sign like a provider does: standard, stripe, github, shopify, slack, hmac'
            cand --id 'Pin the event id (for reproducible signed requests)'
            cand --timestamp 'Pin the signature timestamp, in Unix seconds'
            cand --secret 'Signing secret (repeatable for key rotation on verify). Never printed or captured'
            cand --signature-header 'Header for the generic `hmac` scheme'
            cand --encoding 'Encoding for the generic `hmac` scheme'
            cand --prefix 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`'
            cand --timeout 'Timeout for each attempt'
            cand --retries 'Retries after a failed attempt (connection error, timeout, 5xx, 408, 429)'
            cand --backoff 'Base of the exponential backoff between retries (full jitter)'
            cand -c 'Deliveries in flight at once. Above 1, events may arrive out of order'
            cand --concurrency 'Deliveries in flight at once. Above 1, events may arrive out of order'
            cand --rate 'Cap throughput, e.g. 50/s or 600/m'
            cand --dead-letter 'Append every event that finally failed to FILE, in the capture format'
            cand --tag 'Add an X-Hookctl-Tag: RUN_ID header, for `listen --only-tag`'
            cand --publish 'Publish each event to RabbitMQ (amqp://USER:PASS@HOST:PORT/VHOST) with publisher confirms, or to Kafka (kafka://HOST:PORT/TOPIC) with acks=all. listen answers 2xx only once the broker confirmed, else 503; send publishes instead of sending HTTP'
            cand --exchange 'Exchange to publish to: a durable topic exchange, declared if missing. The routing key is the event type, or `unknown`'
            cand --queue 'Also declare a durable queue bound to the exchange, so events wait there for a relay'
            cand --binding 'Binding key of --queue, in topic syntax: # is everything, payment.* one word'
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand --list 'List the built-in sample events'
            cand --dry-run 'Print the event that would be sent (capture format) and send nothing'
            cand --json 'Print one NDJSON result per event (with -q, only failed ones) and a summary record to stdout'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hookctl;replay'= {
            cand --to 'Scheme, host and port to send to; a path other than / replaces the captured path'
            cand --id 'Replay only the event with this id (repeatable). An id not in FILE is an error'
            cand --filter 'Replay only events matching KEY=VALUE: id, type, path, status (globs; 5xx for a class), method, header.NAME (glob) or body.PATH (JSON). Filters on the same key are alternatives, on different keys all must hold; commas join several in one flag'
            cand --speed 'Keep the original gaps between events, divided by X (1 is real time)'
            cand --resign 'Replace the captured signatures with fresh ones (new timestamp). Events captured with a failed verification are skipped, so a forgery is never made valid'
            cand --route 'Send the events matching EXPR to TARGET instead of to --to (repeatable; as `listen --route`: NAME: and first: prefixes; http(s):// URL, amqp://…, kafka://…, file:PATH or drop). HTTP routes use the delivery options'
            cand --secret 'Signing secret (repeatable for key rotation on verify). Never printed or captured'
            cand --signature-header 'Header for the generic `hmac` scheme'
            cand --encoding 'Encoding for the generic `hmac` scheme'
            cand --prefix 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`'
            cand --timeout 'Timeout for each attempt'
            cand --retries 'Retries after a failed attempt (connection error, timeout, 5xx, 408, 429)'
            cand --backoff 'Base of the exponential backoff between retries (full jitter)'
            cand -c 'Deliveries in flight at once. Above 1, events may arrive out of order'
            cand --concurrency 'Deliveries in flight at once. Above 1, events may arrive out of order'
            cand --rate 'Cap throughput, e.g. 50/s or 600/m'
            cand --dead-letter 'Append every event that finally failed to FILE, in the capture format'
            cand --tag 'Add an X-Hookctl-Tag: RUN_ID header, for `listen --only-tag`'
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand --dry-run 'Print the events that would be sent (capture format) and send nothing'
            cand --skip-invalid 'Report malformed lines and go on, instead of stopping'
            cand --follow 'Keep FILE open and replay lines appended to it, like tail -f'
            cand --from-end 'With --follow, start at the end of FILE: only new lines are replayed'
            cand --resign-unverified 'With --resign, also re-sign and send events that failed verification when captured'
            cand --new-ids 'Give each replayed event a new id'
            cand --json 'Print one NDJSON result per event (with -q, only failed ones) and a summary record to stdout'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hookctl;verify'= {
            cand --scheme 'Signature scheme: standard, stripe, github, shopify, slack, hmac'
            cand --tolerance 'Accept signature timestamps this far from the time each event was received (its received_at), or from now with --now; 0 disables the check'
            cand --secret 'Signing secret (repeatable for key rotation on verify). Never printed or captured'
            cand --signature-header 'Header for the generic `hmac` scheme'
            cand --encoding 'Encoding for the generic `hmac` scheme'
            cand --prefix 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`'
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand --now 'Measure timestamps against the current time instead of each event''s received_at'
            cand --json 'Print one NDJSON result per event'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hookctl;relay'= {
            cand --queue 'RabbitMQ queue to consume: declared durable and bound to --exchange with --binding if missing'
            cand --group 'Kafka consumer group: relays in one group share the topic''s partitions'
            cand --dead-letter-topic 'Kafka topic for failed and invalid messages [default: TOPIC.dead-letter]'
            cand --route 'Send the events matching EXPR to TARGET instead of to --to (repeatable; as `listen --route`). A message is settled once every route it took accepted it'
            cand --to 'Scheme, host and port to deliver to; a path other than / replaces the events'' paths'
            cand -n 'Stop after taking N messages'
            cand --count 'Stop after taking N messages'
            cand --exchange 'Exchange the queue is bound to (a durable topic exchange)'
            cand --binding 'Binding key of the queue, in topic syntax: # is everything'
            cand --dead-letter-exchange 'Exchange for failed and invalid messages [default: EXCHANGE.dead-letter]'
            cand --dead-letter-queue 'Durable queue that keeps the dead letters [default: QUEUE.dead-letter]'
            cand --resign 'Replace the signatures with fresh ones (new timestamp) on every attempt'
            cand --secret 'Signing secret (repeatable for key rotation on verify). Never printed or captured'
            cand --signature-header 'Header for the generic `hmac` scheme'
            cand --encoding 'Encoding for the generic `hmac` scheme'
            cand --prefix 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`'
            cand --timeout 'Timeout for each attempt'
            cand --retries 'Retries after a failed attempt (connection error, timeout, 5xx, 408, 429)'
            cand --backoff 'Base of the exponential backoff between retries (full jitter)'
            cand -c 'Deliveries in flight at once. Above 1, events may arrive out of order'
            cand --concurrency 'Deliveries in flight at once. Above 1, events may arrive out of order'
            cand --rate 'Cap throughput, e.g. 50/s or 600/m'
            cand --dead-letter 'Append every event that finally failed to FILE, in the capture format'
            cand --tag 'Add an X-Hookctl-Tag: RUN_ID header, for `listen --only-tag`'
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand --json 'Print one NDJSON result per event (with -q, only failed ones) and a summary record to stdout'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hookctl;serve'= {
            cand --host 'Address to bind. Use 0.0.0.0 to serve providers on the internet'
            cand -p 'Port to bind; 0 picks a free one (the address is announced on stderr)'
            cand --port 'Port to bind; 0 picks a free one (the address is announced on stderr)'
            cand --data 'Folder for channels and their event logs (created if missing)'
            cand --public-url 'The URL providers reach this relay at (behind a proxy), for the channel URLs handed out; by default the request''s Host'
            cand --retain 'Keep each channel''s events this long'
            cand --retain-events 'Keep at most this many events per channel'
            cand --max-body 'Largest body accepted; larger ones get 413'
            cand --header-timeout 'How long a client may take to send a request''s headers (and the TLS handshake)'
            cand --body-timeout 'How long a client may take to send a whole body; slower ones get 408'
            cand --max-connections 'Connections served at once, subscribers included. Further ones wait for a slot (up to 10s); past that they are answered 503'
            cand --rate-limit 'Deliveries each channel takes at most (e.g. 50/s, 600/m), with a burst of one second''s worth; further ones get 429 with Retry-After'
            cand --max-channels 'Channels this relay holds at most; `POST /new` answers 503 past it'
            cand --tls-cert 'Serve HTTPS with this certificate chain (PEM)'
            cand --tls-key 'The private key of --tls-cert (PEM)'
            cand --metrics-token 'Bearer token `/metrics` requires; without one, only clients on this machine get metrics'
            cand --verify 'Check signatures at the relay for CHANNEL (`*` for every other channel) with SCHEME (standard, stripe, github, shopify, slack), the secret read from the environment variable ENV (default HOOKCTL_SECRET). Forged or expired deliveries get 401 and are not stored. Repeatable'
            cand --tolerance 'How far a signed timestamp may be from now (stripe, standard, slack); older ones are replays'
            cand --log-format 'Log lines on stderr as text or as one JSON object per line'
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand --fsync 'fsync each write before answering, for power-loss durability'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hookctl;channel'= {
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand new 'Create a channel on a relay and print its URL (for the provider) and its token (for subscribing)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hookctl;channel;new'= {
            cand --server 'The relay''s URL'
            cand --cacert 'Also trust this CA certificate (PEM) for an https:// relay, e.g. a self-signed one'
            cand --timeout 'How long to wait for the relay'
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand --json 'Print `{"channel": …, "url": …, "token": …}` on one line, for scripts'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hookctl;channel;help'= {
            cand new 'Create a channel on a relay and print its URL (for the provider) and its token (for subscribing)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hookctl;channel;help;new'= {
        }
        &'hookctl;channel;help;help'= {
        }
        &'hookctl;config'= {
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand show 'Print each setting of a command, its value and where it came from: a flag, an environment variable, hookctl.toml (file, line and profile) or the built-in default'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hookctl;config;show'= {
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand --json 'Print one NDJSON record (`kind: config`) instead of text'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hookctl;config;help'= {
            cand show 'Print each setting of a command, its value and where it came from: a flag, an environment variable, hookctl.toml (file, line and profile) or the built-in default'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hookctl;config;help;show'= {
        }
        &'hookctl;config;help;help'= {
        }
        &'hookctl;completions'= {
            cand --color 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never'
            cand --config 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]'
            cand --profile 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)'
            cand -v 'Show more: headers, response bodies, every result'
            cand --verbose 'Show more: headers, response bodies, every result'
            cand -q 'Show less: no per-event output on the terminal, only errors and the summary'
            cand --quiet 'Show less: no per-event output on the terminal, only errors and the summary'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hookctl;help'= {
            cand listen 'Run a local webhook receiver that prints, captures, checks and answers deliveries'
            cand send 'Send a sample event, or your own body, optionally signed like a real provider'
            cand replay 'Resend captured events byte for byte'
            cand verify 'Check the signatures of captured events offline'
            cand relay 'Deliver events from a RabbitMQ queue to a URL: retries, dead-lettering, at least once'
            cand serve 'Run a self-hosted webhook relay: durable, resumable, private channels over SSE'
            cand channel 'Manage channels on a relay (`hookctl serve`)'
            cand config 'Show the settings in effect from hookctl.toml, the environment and the defaults'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hookctl;help;listen'= {
        }
        &'hookctl;help;send'= {
        }
        &'hookctl;help;replay'= {
        }
        &'hookctl;help;verify'= {
        }
        &'hookctl;help;relay'= {
        }
        &'hookctl;help;serve'= {
        }
        &'hookctl;help;channel'= {
            cand new 'Create a channel on a relay and print its URL (for the provider) and its token (for subscribing)'
        }
        &'hookctl;help;channel;new'= {
        }
        &'hookctl;help;config'= {
            cand show 'Print each setting of a command, its value and where it came from: a flag, an environment variable, hookctl.toml (file, line and profile) or the built-in default'
        }
        &'hookctl;help;config;show'= {
        }
        &'hookctl;help;completions'= {
        }
        &'hookctl;help;help'= {
        }
    ]
    $completions[$command]
}
