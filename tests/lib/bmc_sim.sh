# bmc_sim.sh — simulated BMCs for the bare-metal tests (source it after harness.sh).
#
#   bmc_sim DIR [N]   start OpenIPMI's ipmi_sim on 127.0.0.1 (inside network namespace $BMC_NS when
#                     set), user admin with password Bmc-pw-0451, on a UDP port from bind(0). Its
#                     chassis keeps the power in DIR/power (0 or 1) and the boot device in DIR/boot,
#                     and runs DIR/on / DIR/off (when present) on power on / off. Writes DIR/port and
#                     DIR/pid; N (a hex digit, default 0) tells several sims' GUIDs apart. The sim is
#                     killed on exit (registered now: cleanups registered after it run before).
_bmc_in() { if [ -n "${BMC_NS:-}" ]; then ip netns exec "$BMC_NS" "$@"; else "$@"; fi; }
bmc_sim() {
    _d=$1 _n=${2:-0}
    mkdir -p "$_d/state"
    echo 0 > "$_d/power"
    cat > "$_d/chassis" <<'PROG'
#!/bin/sh
# ipmi_sim chassis_control: PROG get PARM... | PROG set PARM VAL...
dir=$(dirname "$0")
op=$1; shift
case $op in
get) for p in "$@"; do case $p in
     power) echo "power:$(cat "$dir/power")" ;;
     boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo none)" ;;
     *) echo "unknown parameter $p"; exit 1 ;; esac; done ;;
set) while [ $# -ge 2 ]; do case $1 in
     boot) echo "$2" > "$dir/boot" ;;
     power) echo "$2" > "$dir/power"
            if [ "$2" = 1 ]; then [ ! -x "$dir/on" ] || "$dir/on"; else [ ! -x "$dir/off" ] || "$dir/off"; fi ;;
     reset|shutdown) ;;
     *) echo "unknown parameter $1"; exit 1 ;; esac; shift 2; done ;;
*) exit 1 ;;
esac
PROG
    chmod +x "$_d/chassis"
    _port=$(_bmc_in python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nsel_enable 0x20 1000 0x0a\nmc_enable 0x20\n' > "$_d/sim.emu"
    cat > "$_d/lan.conf" <<CONF
name "sbx$_n"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $_port
    priv_limit admin
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcde$_n
  endlan
  chassis_control "$_d/chassis"
  user 2 true "admin" "Bmc-pw-0451" admin 10 none md2 md5 straight
CONF
    # not through _bmc_in: $! must be ipmi_sim itself (ip netns exec execs it), not a subshell
    if [ -n "${BMC_NS:-}" ]; then
        ip netns exec "$BMC_NS" /usr/bin/ipmi_sim -c "$_d/lan.conf" -f "$_d/sim.emu" -s "$_d/state" -n > "$_d/sim.log" 2>&1 &
    else
        /usr/bin/ipmi_sim -c "$_d/lan.conf" -f "$_d/sim.emu" -s "$_d/state" -n > "$_d/sim.log" 2>&1 &
    fi
    echo $! > "$_d/pid"
    echo "$_port" > "$_d/port"
    on_exit "kill -9 $!"
    until_true 30 _bmc_in sh -c "ss -lun | grep -q '127.0.0.1:$_port '" ||
        { cat "$_d/sim.log" >&2; fail "ipmi_sim in $_d did not listen"; finish; }
}
