
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'hookctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'hookctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'hookctl' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('listen', 'listen', [CompletionResultType]::ParameterValue, 'Run a local webhook receiver that prints, captures, checks and answers deliveries')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send a sample event, or your own body, optionally signed like a real provider')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Resend captured events byte for byte')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the signatures of captured events offline')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Deliver events from a RabbitMQ queue or a Kafka topic to a URL: retries, dead-lettering, at least once')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run a self-hosted webhook relay: durable, resumable, private channels over SSE')
            [CompletionResult]::new('channel', 'channel', [CompletionResultType]::ParameterValue, 'Manage channels on a relay (`hookctl serve`)')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Browse, search, replay and export a capture (.jsonl) or HAR (.har) file in a web page')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the settings in effect from hookctl.toml, the environment and the defaults')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hookctl;listen' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address to bind. Use 0.0.0.0 only if other machines must reach you')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Port to bind; 0 picks a free one (the address is announced on stderr)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to bind; 0 picks a free one (the address is announced on stderr)')
            [CompletionResult]::new('--capture', '--capture', [CompletionResultType]::ParameterName, 'Append every delivery to FILE as one JSON line (written before the response)')
            [CompletionResult]::new('--max-print-lines', '--max-print-lines', [CompletionResultType]::ParameterName, 'The most lines of one body printed; the rest is left out with a note (the capture keeps every byte)')
            [CompletionResult]::new('--max-print-bytes', '--max-print-bytes', [CompletionResultType]::ParameterName, 'The most bytes of one body''s rendering printed')
            [CompletionResult]::new('--max-body', '--max-body', [CompletionResultType]::ParameterName, 'Largest body accepted; larger ones get 413')
            [CompletionResult]::new('--header-timeout', '--header-timeout', [CompletionResultType]::ParameterName, 'How long a client may take to send a request''s headers (and how long an idle keep-alive connection stays open)')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'How long a client may take to send a whole body; slower ones get 408')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Connections served at once. Further ones wait for a slot (up to 10s, 8 per slot); past that they are answered 503 with Retry-After: 1')
            [CompletionResult]::new('--ready-file', '--ready-file', [CompletionResultType]::ParameterName, 'Write the bound URL to PATH once the port accepts connections')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Wait for an event matching EXPR (type=GLOB, path=GLOB, method=M, header.NAME=GLOB, body.PATH=JSON; comma-separated predicates are ANDed). Repeat for several events')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exit after N deliveries (when no --expect is given)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after DURATION: exit 4 if --expect/--count are unmet, else exit 0')
            [CompletionResult]::new('--only-tag', '--only-tag', [CompletionResultType]::ParameterName, 'Only print, count and capture deliveries carrying X-Hookctl-Tag: RUN_ID')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Answer every delivery with STATUS')
            [CompletionResult]::new('--respond', '--respond', [CompletionResultType]::ParameterName, 'Answer deliveries with this sequence of statuses; the last one repeats')
            [CompletionResult]::new('--fail-rate', '--fail-rate', [CompletionResultType]::ParameterName, 'Answer this fraction of deliveries (0.0 to 1.0) with 500')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed for --fail-rate, to make the choice repeatable')
            [CompletionResult]::new('--delay', '--delay', [CompletionResultType]::ParameterName, 'Hold each response for DURATION before answering')
            [CompletionResult]::new('--retry-after', '--retry-after', [CompletionResultType]::ParameterName, 'Retry-After value sent with 429 and 503 answers')
            [CompletionResult]::new('--response-body', '--response-body', [CompletionResultType]::ParameterName, 'Response body: text, or @FILE')
            [CompletionResult]::new('--response-header', '--response-header', [CompletionResultType]::ParameterName, 'Extra response header ''Name: value'' (repeatable)')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Verify each delivery''s signature with SCHEME (standard, stripe, github, shopify, slack, hmac)')
            [CompletionResult]::new('--verify-mode', '--verify-mode', [CompletionResultType]::ParameterName, 'reject: answer 401 on a bad signature; warn: answer normally and only report')
            [CompletionResult]::new('--tolerance', '--tolerance', [CompletionResultType]::ParameterName, 'Accept signature timestamps this far from now; 0 disables the check')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'Signing secret (repeatable for key rotation on verify). Never printed or captured')
            [CompletionResult]::new('--signature-header', '--signature-header', [CompletionResultType]::ParameterName, 'Header for the generic `hmac` scheme')
            [CompletionResult]::new('--encoding', '--encoding', [CompletionResultType]::ParameterName, 'Encoding for the generic `hmac` scheme')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`')
            [CompletionResult]::new('--forward-to', '--forward-to', [CompletionResultType]::ParameterName, 'Relay every delivery to your app at URL and answer with the app''s response. With --route it is one more route, `forward:*` to URL')
            [CompletionResult]::new('--forward-timeout', '--forward-timeout', [CompletionResultType]::ParameterName, 'Timeout for each forward attempt')
            [CompletionResult]::new('--forward-retries', '--forward-retries', [CompletionResultType]::ParameterName, 'Retries for a failed forward')
            [CompletionResult]::new('--publish', '--publish', [CompletionResultType]::ParameterName, 'Publish each event to RabbitMQ (amqp://USER:PASS@HOST:PORT/VHOST) with publisher confirms, or to Kafka (kafka://HOST:PORT/TOPIC) with acks=all. listen answers 2xx only once the broker confirmed, else 503; send publishes instead of sending HTTP')
            [CompletionResult]::new('--exchange', '--exchange', [CompletionResultType]::ParameterName, 'Exchange to publish to: a durable topic exchange, declared if missing. The routing key is the event type, or `unknown`')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Also declare a durable queue bound to the exchange, so events wait there for a relay')
            [CompletionResult]::new('--binding', '--binding', [CompletionResultType]::ParameterName, 'Binding key of --queue, in topic syntax: # is everything, payment.* one word')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Subscribe to a relay channel (a `hookctl serve` URL, or https://smee.io/CHANNEL) and treat each relayed event like a delivery to this port. Repeatable')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'The channel''s subscribe token (sent as Authorization: Bearer; never printed). A `?token=` in a --source URL wins')
            [CompletionResult]::new('--source-state', '--source-state', [CompletionResultType]::ParameterName, 'Where the last event id of each source is kept, so a restart resumes after it (default: CAPTURE.source-state with --capture)')
            [CompletionResult]::new('--route', '--route', [CompletionResultType]::ParameterName, 'Send events matching EXPR to TARGET (repeatable; an event goes to every route it matches). EXPR is --expect''s syntax, or * for every event; prefix it with NAME: to name the route, and with first: to send what it takes to no later route. TARGET is an http(s):// URL (with --forward-retries and --forward-timeout), amqp://…?exchange=X&queue=Q, kafka://…, file:PATH or drop. The sender gets 2xx only once every route taken accepted the event')
            [CompletionResult]::new('--unrouted', '--unrouted', [CompletionResultType]::ParameterName, 'Answer events that no route takes with STATUS (e.g. 404) instead of as usual')
            [CompletionResult]::new('--ui-port', '--ui-port', [CompletionResultType]::ParameterName, 'Serve the inspector on this port instead of listen''s own (0 picks a free one)')
            [CompletionResult]::new('--ui-token', '--ui-token', [CompletionResultType]::ParameterName, 'Token that guards the inspector; required to serve it off loopback (--host 0.0.0.0). Open the page with #token=TOKEN. At least 16 characters')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('--fsync', '--fsync', [CompletionResultType]::ParameterName, 'fsync the capture file before answering, for power-loss durability')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print each delivery to stdout as one NDJSON line, and nothing else')
            [CompletionResult]::new('--ready-json', '--ready-json', [CompletionResultType]::ParameterName, 'With --json, print a `ready` record ({"kind":"ready","url":…,"pid":…}) before the events')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'One aligned line per event: time, method, path, type, id, size, status, verification and forwarding. The default on a terminal too narrow for the full view, or when events arrive faster than 5 a second')
            [CompletionResult]::new('--compact', '--compact', [CompletionResultType]::ParameterName, 'One aligned line per event: time, method, path, type, id, size, status, verification and forwarding. The default on a terminal too narrow for the full view, or when events arrive faster than 5 a second')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'Always the full view (summary line and body), never switching to --compact')
            [CompletionResult]::new('--ack-first', '--ack-first', [CompletionResultType]::ParameterName, 'Answer 200 at once and forward (or route) in the background')
            [CompletionResult]::new('--exit-on-forward-failure', '--exit-on-forward-failure', [CompletionResultType]::ParameterName, 'Exit non-zero (3) once a forward finally fails')
            [CompletionResult]::new('--no-port', '--no-port', [CompletionResultType]::ParameterName, 'Do not open the local port: events come only from --source')
            [CompletionResult]::new('--ui', '--ui', [CompletionResultType]::ParameterName, 'Serve the web inspector at http://HOST:PORT/_hookctl/: every event live, searchable, replayable. Requests under /_hookctl/ are never deliveries')
            [CompletionResult]::new('--open', '--open', [CompletionResultType]::ParameterName, 'Open the inspector in the browser')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hookctl;send' {
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List the samples and flows, grouped by provider; with PROVIDER, only that provider''s')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'Folder of your own samples and flows (JSON or YAML) [default: ./hookctl/samples]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Send the event as it is, or as a CloudEvent: cloudevents (binary mode, ce-* headers) or cloudevents-structured (application/cloudevents+json)')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Make ids and times repeatable: the same seed gives the same bytes (the clock is 2026-01-01T00:00:00Z unless --timestamp pins it)')
            [CompletionResult]::new('--gap', '--gap', [CompletionResultType]::ParameterName, 'Pause between a flow''s steps instead of its realistic gaps; 0 sends them at once (at most 1h)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Where to send')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Your own body, sent byte for byte (unless --set edits it): inline JSON, @FILE, or - for stdin')
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'Your own body, sent byte for byte (unless --set edits it): inline JSON, @FILE, or - for stdin')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Change a field at a dot path, e.g. data.amount=4200 or data.line_items.0.quantity=3; the field must exist. VALUE is JSON when it parses (12, true, {"a":1}), else a string')
            [CompletionResult]::new('--set-new', '--set-new', [CompletionResultType]::ParameterName, 'Add a field at a dot path, creating objects on the way (applied before --set)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra request header ''Name: value'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra request header ''Name: value'' (repeatable)')
            [CompletionResult]::new('-X', '-X ', [CompletionResultType]::ParameterName, 'HTTP method')
            [CompletionResult]::new('--method', '--method', [CompletionResultType]::ParameterName, 'HTTP method')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Send N events, each with a fresh id and timestamp')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Send N events, each with a fresh id and timestamp')
            [CompletionResult]::new('--sign', '--sign', [CompletionResultType]::ParameterName, 'Sign like a provider does: standard, stripe, github, shopify, slack, hmac. Without SCHEME, the sample''s provider''s scheme (a provider sample is signed by itself whenever a secret is given)')
            [CompletionResult]::new('--id', '--id', [CompletionResultType]::ParameterName, 'Pin the event id (for reproducible signed requests)')
            [CompletionResult]::new('--timestamp', '--timestamp', [CompletionResultType]::ParameterName, 'Pin the signature timestamp, in Unix seconds')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'Signing secret (repeatable for key rotation on verify). Never printed or captured')
            [CompletionResult]::new('--signature-header', '--signature-header', [CompletionResultType]::ParameterName, 'Header for the generic `hmac` scheme')
            [CompletionResult]::new('--encoding', '--encoding', [CompletionResultType]::ParameterName, 'Encoding for the generic `hmac` scheme')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout for each attempt')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after a failed attempt (connection error, timeout, 5xx, 408, 429)')
            [CompletionResult]::new('--backoff', '--backoff', [CompletionResultType]::ParameterName, 'Base of the exponential backoff between retries (full jitter)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Deliveries in flight at once. Above 1, events may arrive out of order')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Deliveries in flight at once. Above 1, events may arrive out of order')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Cap throughput, e.g. 50/s or 600/m')
            [CompletionResult]::new('--dead-letter', '--dead-letter', [CompletionResultType]::ParameterName, 'Append every event that finally failed to FILE, in the capture format')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Add an X-Hookctl-Tag: RUN_ID header, for `listen --only-tag`')
            [CompletionResult]::new('--publish', '--publish', [CompletionResultType]::ParameterName, 'Publish each event to RabbitMQ (amqp://USER:PASS@HOST:PORT/VHOST) with publisher confirms, or to Kafka (kafka://HOST:PORT/TOPIC) with acks=all. listen answers 2xx only once the broker confirmed, else 503; send publishes instead of sending HTTP')
            [CompletionResult]::new('--exchange', '--exchange', [CompletionResultType]::ParameterName, 'Exchange to publish to: a durable topic exchange, declared if missing. The routing key is the event type, or `unknown`')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Also declare a durable queue bound to the exchange, so events wait there for a relay')
            [CompletionResult]::new('--binding', '--binding', [CompletionResultType]::ParameterName, 'Binding key of --queue, in topic syntax: # is everything, payment.* one word')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('--names', '--names', [CompletionResultType]::ParameterName, 'With --list: only the names, one a line (what shell completion can call)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the event that would be sent (capture format) and send nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one NDJSON result per event (with -q, only failed ones) and a summary record to stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hookctl;replay' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Scheme, host and port to send to; a path other than / replaces the captured path')
            [CompletionResult]::new('--id', '--id', [CompletionResultType]::ParameterName, 'Replay only the event with this id (repeatable). An id not in FILE is an error')
            [CompletionResult]::new('--filter', '--filter', [CompletionResultType]::ParameterName, 'Replay only events matching KEY=VALUE: id, type, path, status (globs; 5xx for a class), method, header.NAME (glob) or body.PATH (JSON). Filters on the same key are alternatives, on different keys all must hold; commas join several in one flag')
            [CompletionResult]::new('--speed', '--speed', [CompletionResultType]::ParameterName, 'Keep the original gaps between events, divided by X (1 is real time)')
            [CompletionResult]::new('--resign', '--resign', [CompletionResultType]::ParameterName, 'Replace the captured signatures with fresh ones (new timestamp). Events captured with a failed verification are skipped, so a forgery is never made valid')
            [CompletionResult]::new('--route', '--route', [CompletionResultType]::ParameterName, 'Send the events matching EXPR to TARGET instead of to --to (repeatable; as `listen --route`: NAME: and first: prefixes; http(s):// URL, amqp://…, kafka://…, file:PATH or drop). HTTP routes use the delivery options')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'Signing secret (repeatable for key rotation on verify). Never printed or captured')
            [CompletionResult]::new('--signature-header', '--signature-header', [CompletionResultType]::ParameterName, 'Header for the generic `hmac` scheme')
            [CompletionResult]::new('--encoding', '--encoding', [CompletionResultType]::ParameterName, 'Encoding for the generic `hmac` scheme')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout for each attempt')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after a failed attempt (connection error, timeout, 5xx, 408, 429)')
            [CompletionResult]::new('--backoff', '--backoff', [CompletionResultType]::ParameterName, 'Base of the exponential backoff between retries (full jitter)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Deliveries in flight at once. Above 1, events may arrive out of order')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Deliveries in flight at once. Above 1, events may arrive out of order')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Cap throughput, e.g. 50/s or 600/m')
            [CompletionResult]::new('--dead-letter', '--dead-letter', [CompletionResultType]::ParameterName, 'Append every event that finally failed to FILE, in the capture format')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Add an X-Hookctl-Tag: RUN_ID header, for `listen --only-tag`')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the events that would be sent (capture format) and send nothing')
            [CompletionResult]::new('--skip-invalid', '--skip-invalid', [CompletionResultType]::ParameterName, 'Report malformed lines and go on, instead of stopping')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep FILE open and replay lines appended to it, like tail -f')
            [CompletionResult]::new('--from-end', '--from-end', [CompletionResultType]::ParameterName, 'With --follow, start at the end of FILE: only new lines are replayed')
            [CompletionResult]::new('--resign-unverified', '--resign-unverified', [CompletionResultType]::ParameterName, 'With --resign, also re-sign and send events that failed verification when captured')
            [CompletionResult]::new('--new-ids', '--new-ids', [CompletionResultType]::ParameterName, 'Give each replayed event a new id')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one NDJSON result per event (with -q, only failed ones) and a summary record to stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hookctl;verify' {
            [CompletionResult]::new('--scheme', '--scheme', [CompletionResultType]::ParameterName, 'Signature scheme: standard, stripe, github, shopify, slack, hmac')
            [CompletionResult]::new('--tolerance', '--tolerance', [CompletionResultType]::ParameterName, 'Accept signature timestamps this far from the time each event was received (its received_at), or from now with --now; 0 disables the check')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'Signing secret (repeatable for key rotation on verify). Never printed or captured')
            [CompletionResult]::new('--signature-header', '--signature-header', [CompletionResultType]::ParameterName, 'Header for the generic `hmac` scheme')
            [CompletionResult]::new('--encoding', '--encoding', [CompletionResultType]::ParameterName, 'Encoding for the generic `hmac` scheme')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Measure timestamps against the current time instead of each event''s received_at')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one NDJSON result per event')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hookctl;relay' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'RabbitMQ queue to consume: declared durable and bound to --exchange with --binding if missing')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Kafka consumer group: relays in one group share the topic''s partitions')
            [CompletionResult]::new('--dead-letter-topic', '--dead-letter-topic', [CompletionResultType]::ParameterName, 'Kafka topic for failed and invalid messages [default: TOPIC.dead-letter]')
            [CompletionResult]::new('--route', '--route', [CompletionResultType]::ParameterName, 'Send the events matching EXPR to TARGET instead of to --to (repeatable; as `listen --route`). A message is settled once every route it took accepted it')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Scheme, host and port to deliver to; a path other than / replaces the events'' paths')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Stop after taking N messages')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after taking N messages')
            [CompletionResult]::new('--exchange', '--exchange', [CompletionResultType]::ParameterName, 'Exchange the queue is bound to (a durable topic exchange)')
            [CompletionResult]::new('--binding', '--binding', [CompletionResultType]::ParameterName, 'Binding key of the queue, in topic syntax: # is everything')
            [CompletionResult]::new('--dead-letter-exchange', '--dead-letter-exchange', [CompletionResultType]::ParameterName, 'Exchange for failed and invalid messages [default: EXCHANGE.dead-letter]')
            [CompletionResult]::new('--dead-letter-queue', '--dead-letter-queue', [CompletionResultType]::ParameterName, 'Durable queue that keeps the dead letters [default: QUEUE.dead-letter]')
            [CompletionResult]::new('--resign', '--resign', [CompletionResultType]::ParameterName, 'Replace the signatures with fresh ones (new timestamp) on every attempt')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'Signing secret (repeatable for key rotation on verify). Never printed or captured')
            [CompletionResult]::new('--signature-header', '--signature-header', [CompletionResultType]::ParameterName, 'Header for the generic `hmac` scheme')
            [CompletionResult]::new('--encoding', '--encoding', [CompletionResultType]::ParameterName, 'Encoding for the generic `hmac` scheme')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout for each attempt')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retries after a failed attempt (connection error, timeout, 5xx, 408, 429)')
            [CompletionResult]::new('--backoff', '--backoff', [CompletionResultType]::ParameterName, 'Base of the exponential backoff between retries (full jitter)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Deliveries in flight at once. Above 1, events may arrive out of order')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Deliveries in flight at once. Above 1, events may arrive out of order')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Cap throughput, e.g. 50/s or 600/m')
            [CompletionResult]::new('--dead-letter', '--dead-letter', [CompletionResultType]::ParameterName, 'Append every event that finally failed to FILE, in the capture format')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Add an X-Hookctl-Tag: RUN_ID header, for `listen --only-tag`')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one NDJSON result per event (with -q, only failed ones) and a summary record to stdout')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hookctl;serve' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address to bind. Use 0.0.0.0 to serve providers on the internet')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Port to bind; 0 picks a free one (the address is announced on stderr)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to bind; 0 picks a free one (the address is announced on stderr)')
            [CompletionResult]::new('--data', '--data', [CompletionResultType]::ParameterName, 'Folder for channels and their event logs (created if missing)')
            [CompletionResult]::new('--public-url', '--public-url', [CompletionResultType]::ParameterName, 'The URL providers reach this relay at (behind a proxy), for the channel URLs handed out; by default the request''s Host')
            [CompletionResult]::new('--retain', '--retain', [CompletionResultType]::ParameterName, 'Keep each channel''s events this long')
            [CompletionResult]::new('--retain-events', '--retain-events', [CompletionResultType]::ParameterName, 'Keep at most this many events per channel')
            [CompletionResult]::new('--max-body', '--max-body', [CompletionResultType]::ParameterName, 'Largest body accepted; larger ones get 413')
            [CompletionResult]::new('--header-timeout', '--header-timeout', [CompletionResultType]::ParameterName, 'How long a client may take to send a request''s headers (and the TLS handshake)')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'How long a client may take to send a whole body; slower ones get 408')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Connections served at once, subscribers included. Further ones wait for a slot (up to 10s); past that they are answered 503')
            [CompletionResult]::new('--rate-limit', '--rate-limit', [CompletionResultType]::ParameterName, 'Deliveries each channel takes at most (e.g. 50/s, 600/m), with a burst of one second''s worth; further ones get 429 with Retry-After')
            [CompletionResult]::new('--max-channels', '--max-channels', [CompletionResultType]::ParameterName, 'Channels this relay holds at most; `POST /new` answers 503 past it')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Drop a subscriber (any connection) whose connection takes nothing for this long while an event waits to be written; it resumes from the log when it reconnects. 1s to 1h')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve HTTPS with this certificate chain (PEM)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key of --tls-cert (PEM)')
            [CompletionResult]::new('--create-token', '--create-token', [CompletionResultType]::ParameterName, 'Bearer token `POST /new` requires, so only you create channels; without one anyone who reaches the relay can (up to --max-channels)')
            [CompletionResult]::new('--metrics-token', '--metrics-token', [CompletionResultType]::ParameterName, 'Bearer token `/metrics` requires; without one, only clients on this machine get metrics')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Check signatures at the relay for CHANNEL (`*` for every other channel) with SCHEME (standard, stripe, github, shopify, slack), the secret read from the environment variable ENV (default HOOKCTL_SECRET). Forged or expired deliveries get 401 and are not stored. Repeatable')
            [CompletionResult]::new('--tolerance', '--tolerance', [CompletionResultType]::ParameterName, 'How far a signed timestamp may be from now (stripe, standard, slack); older ones are replays')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log lines on stderr as text or as one JSON object per line')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Share channels with other serve instances (behind one load balancer) through RabbitMQ streams (amqp://USER:PASS@HOST:PORT/VHOST): a POST to any instance reaches subscribers on every one, and a resume works on any. Needs a fresh --data folder')
            [CompletionResult]::new('--broker-stream', '--broker-stream', [CompletionResultType]::ParameterName, 'The stream queue the instances share (channels go to NAME.channels)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('--fsync', '--fsync', [CompletionResultType]::ParameterName, 'fsync each write before answering, for power-loss durability')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hookctl;channel' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Create a channel on a relay and print its URL (for the provider) and its token (for subscribing)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hookctl;channel;new' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The relay''s URL')
            [CompletionResult]::new('--create-token', '--create-token', [CompletionResultType]::ParameterName, 'The relay''s --create-token, when it has one')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Also trust this CA certificate (PEM) for an https:// relay, e.g. a self-signed one')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the relay')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print `{"channel": …, "url": …, "token": …}` on one line, for scripts')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hookctl;channel;help' {
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Create a channel on a relay and print its URL (for the provider) and its token (for subscribing)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hookctl;channel;help;new' {
            break
        }
        'hookctl;channel;help;help' {
            break
        }
        'hookctl;inspect' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address to bind. Off loopback, --ui-token is required')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Port to serve the inspector on; 0 picks a free one (announced on stderr)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to serve the inspector on; 0 picks a free one (announced on stderr)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Where replays go unless another URL is typed in the page')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout for each replay')
            [CompletionResult]::new('--ui-token', '--ui-token', [CompletionResultType]::ParameterName, 'Token that guards the inspector; required off loopback. Open the page with #token=TOKEN. At least 16 characters')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'Signing secret (repeatable for key rotation on verify). Never printed or captured')
            [CompletionResult]::new('--signature-header', '--signature-header', [CompletionResultType]::ParameterName, 'Header for the generic `hmac` scheme')
            [CompletionResult]::new('--encoding', '--encoding', [CompletionResultType]::ParameterName, 'Encoding for the generic `hmac` scheme')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Prefix before the signature for the generic `hmac` scheme, e.g. `sha256=`')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('--open', '--open', [CompletionResultType]::ParameterName, 'Open the inspector in the browser')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hookctl;config' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print each setting of a command, its value and where it came from: a flag, an environment variable, hookctl.toml (file, line and profile) or the built-in default')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hookctl;config;show' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one NDJSON record (`kind: config`) instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hookctl;config;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print each setting of a command, its value and where it came from: a flag, an environment variable, hookctl.toml (file, line and profile) or the built-in default')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hookctl;config;help;show' {
            break
        }
        'hookctl;config;help;help' {
            break
        }
        'hookctl;completions' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour: auto (on a terminal, unless NO_COLOR is set), always, never')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Project file with named profiles [default: hookctl.toml in the working directory, if there is one]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Take the flags you do not give from this profile of the project file (without one, its `default` profile applies, if it has one)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show more: headers, response bodies, every result')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Show less: no per-event output on the terminal, only errors and the summary')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hookctl;help' {
            [CompletionResult]::new('listen', 'listen', [CompletionResultType]::ParameterValue, 'Run a local webhook receiver that prints, captures, checks and answers deliveries')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send a sample event, or your own body, optionally signed like a real provider')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Resend captured events byte for byte')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the signatures of captured events offline')
            [CompletionResult]::new('relay', 'relay', [CompletionResultType]::ParameterValue, 'Deliver events from a RabbitMQ queue or a Kafka topic to a URL: retries, dead-lettering, at least once')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run a self-hosted webhook relay: durable, resumable, private channels over SSE')
            [CompletionResult]::new('channel', 'channel', [CompletionResultType]::ParameterValue, 'Manage channels on a relay (`hookctl serve`)')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Browse, search, replay and export a capture (.jsonl) or HAR (.har) file in a web page')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show the settings in effect from hookctl.toml, the environment and the defaults')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hookctl;help;listen' {
            break
        }
        'hookctl;help;send' {
            break
        }
        'hookctl;help;replay' {
            break
        }
        'hookctl;help;verify' {
            break
        }
        'hookctl;help;relay' {
            break
        }
        'hookctl;help;serve' {
            break
        }
        'hookctl;help;channel' {
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Create a channel on a relay and print its URL (for the provider) and its token (for subscribing)')
            break
        }
        'hookctl;help;channel;new' {
            break
        }
        'hookctl;help;inspect' {
            break
        }
        'hookctl;help;config' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print each setting of a command, its value and where it came from: a flag, an environment variable, hookctl.toml (file, line and profile) or the built-in default')
            break
        }
        'hookctl;help;config;show' {
            break
        }
        'hookctl;help;completions' {
            break
        }
        'hookctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
