#!/bin/sh
# A blueprint is input, not a program: the CLI refuses hostile site.uri values, files outside the
# blueprint's tree and the image directories, literal credentials, names PostgreSQL reserves and
# what `up` could not serve, at `validate` with FILE:LINE:COL; it never prints a foreign file or a
# terminal escape sequence; ${secret.NAME} values are set from stdin and checked before `plan` and
# `up` touch anything; a bare --wait-lock number is seconds. Needs no libvirtd: `up` runs against
# libvirt's in-process test driver (test:///default).
. "$SBX_TOP/tests/lib/harness.sh"
E=bp$$
B="$T/bp"
mkdir -p "$B/images" "$T/elsewhere"
on_exit "$SANDBOX down $E"

# head [BODY]: a blueprint file $B/x.yaml with a valid header, then BODY
bp() { printf 'apiVersion: sandbox/v1\nname: x\n%s' "$1" > "$B/x.yaml"; }
NODES='networks: [ { name: f } ]
nodes: [ { name: w, networks: [f] } ]
'

# site.uri: the ext transport, qemu+unix, parameters naming a program, socket or file
for uri in 'ext:///x?command=/bin/sh' 'qemu+ext:///system?command=/tmp/evil' 'qemu+unix:///system?socket=/tmp/s' \
    'qemu+tcp://host/system' 'test:///etc/shadow'; do
    bp "site: { uri: \"$uri\", image: { recipe: r } }
$NODES"
    expect_rc 2 "$SANDBOX" validate "$B/x.yaml"
    expect_out "x.yaml:3:14: uri: expected qemu:///system, qemu:///session, qemu\\+ssh://\\[USER@\\]HOST\\[:PORT\\]/system, qemu\\+tls://HOST\\[:PORT\\]/system \\(or /session on that host\\) or test:///default, got "
done
for p in netcat=/tmp/nc keyfile=/root/.ssh/id_rsa socket=/run/x proxy=netcat command=sh known_hosts=/tmp/k; do
    bp "site: { uri: \"qemu+ssh://root@kvm-1/system?$p\", image: { recipe: r } }
$NODES"
    expect_rc 2 "$SANDBOX" validate "$B/x.yaml"
    expect_out "x.yaml:3:14: uri: parameter \"${p%%=*}\" is not allowed"
done
bp "site: { uri: \"qemu+ssh://deploy@kvm-1:2222/system?mode=direct&sshauth=agent\", image: { recipe: r } }
$NODES"
expect_rc 0 "$SANDBOX" validate "$B/x.yaml"

# files: outside the tree, through a symlink, through ".."; a foreign file's content is not printed
printf 'QFI\373' > "$B/images/disk.qcow2"
printf 'QFI\373' > "$T/elsewhere/disk.qcow2"
ln -s ../elsewhere/disk.qcow2 "$B/link.qcow2"
bp "site: { image: { path: link.qcow2 } }
$NODES"
expect_rc 2 "$SANDBOX" validate "$B/x.yaml"
expect_out "x.yaml:3:24: path: \"link.qcow2\" \\(resolves to .*/elsewhere/disk.qcow2\\) is outside the blueprint's directory .*/bp: a blueprint reads files only from its own directory tree and the image directories"
expect_rc 0 env SANDBOX_IMAGE_DIRS="$T/elsewhere" "$SANDBOX" validate "$B/x.yaml" --json
expect_out "\"path\": \".*/elsewhere/disk.qcow2\""
bp "site: { image: { path: images/../images/disk.qcow2, kernel: ../elsewhere/../bp/../../../etc/passwd } }
$NODES"
expect_rc 2 "$SANDBOX" validate "$B/x.yaml"
expect_out 'x.yaml:3:61: kernel: "../elsewhere/../bp/../../../etc/passwd" \(resolves to /etc/passwd\) is outside'
expect_no_out 'x.yaml:3:24'
bp "extends: /etc/shadow
$NODES"
expect_rc 2 "$SANDBOX" validate "$B/x.yaml"
expect_out 'x.yaml:3:10: extends: "/etc/shadow" is outside the blueprint'
expect_no_out 'root:'
printf 'DB_PASSWORD=hunter2-very-long-secret-value-0123456789abcdef\nAPI_TOKEN=second-line-secret\n' > "$B/prod.env"
bp "extends: prod.env
$NODES"
expect_rc 2 "$SANDBOX" validate "$B/x.yaml"
expect_out 'x.yaml:3:10: extends: .*/prod.env is not a sandbox blueprint \(no "apiVersion: sandbox/v1" at its top\); its line 1 begins "DB_PASSWORD=hunter2-very-long-secret-val"$'
expect_no_out 'value-0123|API_TOKEN|second-line'

# a literal credential is refused and not repeated; reserved database names; what up cannot serve
bp "site: { image: { recipe: r } }
nodes: [ { name: m, provider: ipmi, bmc: { address: 10.0.0.5, password: hunter2 } } ]
"
expect_rc 2 "$SANDBOX" validate "$B/x.yaml"
expect_out 'x.yaml:4:73: password: a credential must be a "\$\{secret.NAME\}" reference, not a literal value'
expect_no_out hunter2
for db in '{ name: postgres }' '{ name: app, owner: pg_signal_backend }' '{ name: template1 }' '{ name: pgbouncer }'; do
    bp "site: { image: { recipe: r } }
$NODES
database: { databases: [ $db ] }
" && sed -i 's/networks: \[f\] }/networks: [f], roles: [postgres] }/' "$B/x.yaml"
    expect_rc 2 "$SANDBOX" validate "$B/x.yaml"
    expect_out 'x.yaml:7:(34|46): (name|owner): "[a-z0-9_]+" is reserved by PostgreSQL'
done
bp "site: { image: { recipe: r } }
networks: [ { name: f, cidr: 10.9.0.0/16 } ]
nodes: [ { name: w, networks: [f] } ]
"
expect_rc 2 "$SANDBOX" validate "$B/x.yaml"
expect_out 'x.yaml:4:30: cidr: expected "auto" or an IPv4 network like 10.20.0.0/24 \(a /24'
bp "site: { image: { recipe: r } }
networks: [ { name: f } ]
nodes: [ { name: lb, count: 2, networks: [f], roles: [lb] } ]
mocks: { sms: {} }
"
expect_rc 2 "$SANDBOX" validate "$B/x.yaml"
expect_out 'x.yaml:5:55: role lb needs a node with role router'
expect_out 'x.yaml:6:1: mocks: no node has role mocks'

# remote text is cleaned before it reaches the terminal (here: a --var value echoed by an error)
bp "site: { image: { recipe: r } }
networks: [ { name: f } ]
nodes: [ { name: \"\${n}\", networks: [f] } ]
"
ESC=$(printf '\033')
expect_rc 2 "$SANDBOX" validate "$B/x.yaml" --var "n=$(printf 'a\033]0;pwned\007\033[2Jb')"
expect_out 'name: invalid name "a\?\?b"'
case $OUT in *"$ESC"*) fail "an escape sequence reached the terminal" ;; *) pass ;; esac

# secrets: checked by plan and up before anything is touched; set from stdin; names only
printf 'QFI\373' > "$B/blank.img"
bp "site: { uri: test:///default, image: { path: blank.img } }
networks: [ { name: f } ]
nodes: [ { name: w, memory: 64Mi, networks: [f], roles: [mocks] } ]
mocks: { payment: { webhook_url: \"https://pay.example/hook?t=\${secret.pay-token}&s=\${secret.hook_sig}\" } }
"
expect_rc 2 "$SANDBOX" plan "$B/x.yaml" --name $E
expect_out "^sandbox: secret \"hook_sig\" is not set for environment $E \\(the blueprint uses \\\$\\{secret.hook_sig\\}\\)"
expect_out "^sandbox: secret \"pay-token\" is not set for environment $E"
expect_out "^hint: set each with: printf %s \"\\\$VALUE\" \\| sandbox secret set $E NAME"
expect_rc 0 "$SANDBOX" plan "$B/x.yaml" --name $E --no-refresh
expect_rc 2 "$SANDBOX" up "$B/x.yaml" --name $E --no-wait
expect_out "secret \"pay-token\" is not set"
expect_rc 1 "$SANDBOX" status $E
[ -z "$(find "$T/state" -name "$E.lock" 2>/dev/null)" ] && pass || fail "up took a lock before checking the secrets"
expect_rc 0 sh -c "printf '%s\n' 's3cr3t-token' | '$SANDBOX' secret set $E pay-token"
expect_rc 2 "$SANDBOX" up "$B/x.yaml" --name $E --no-wait
expect_out "hint: set it with: printf %s \"\\\$VALUE\" \\| sandbox secret set $E hook_sig"
expect_no_out 'pay-token'
expect_rc 0 sh -c "printf 'sig-value' | '$SANDBOX' secret set $E hook_sig"
expect_rc 2 sh -c "printf '' | '$SANDBOX' secret set $E empty"
expect_out 'the value is empty'
expect_rc 2 "$SANDBOX" secret set $E 'not valid' </dev/null
expect_rc 0 "$SANDBOX" secret list $E
expect_out '^hook_sig$'
expect_out '^pay-token$'
expect_no_out 's3cr3t|sig-value|ssh'
expect_rc 0 "$SANDBOX" up "$B/x.yaml" --name $E --no-wait
expect_out "environment $E is ready"
expect_rc 0 "$SANDBOX" secret list $E --json
expect_out '"secrets": \['
expect_no_out 's3cr3t|sig-value|ssh-key'
expect_rc 0 "$SANDBOX" outputs $E --format env
expect_no_out 's3cr3t|sig-value'

# --wait-lock 10 means ten seconds
LOCK=$(find "$T/state" -name "$E.lock" | head -n 1)
( flock -x 9; sleep 2 ) 9>"$LOCK" &
LPID=$!
on_exit "kill $LPID"
i=0; while flock -n "$LOCK" true 2>/dev/null && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.05; done
expect_rc 3 "$SANDBOX" down $E
expect_rc 0 "$SANDBOX" down $E --wait-lock 10
expect_out 'state: environment removed'
wait $LPID 2>/dev/null
expect_rc 2 "$SANDBOX" down $E --wait-lock 10x
expect_out 'a bare number is seconds'
expect_rc 1 "$SANDBOX" secret rm $E pay-token
finish
