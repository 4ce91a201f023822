# bmc_sim.sh — the simulated BMC of the bare-metal tests (source it after harness.sh): OpenIPMI's
# ipmi_sim on 127.0.0.1 (inside network namespace $BMC_NS when set), user admin with password
# Bmc-pw-0451, whose chassis keeps the power in $S/power (0 or 1) and runs $S/on / $S/off (when
# present) on power on / off. Sets S (its directory) and BMC (its UDP port); the sim is killed on exit.
_bmc_in() { if [ -n "${BMC_NS:-}" ]; then ip netns exec "$BMC_NS" "$@"; else "$@"; fi; }
S=$T/sim
mkdir -p "$S/state"
echo 0 > "$S/power"
cat > "$S/chassis" <<'PROG'
#!/bin/sh
dir=$(dirname "$0")
op=$1; shift
case $op in
get) for p in "$@"; do case $p in
     power) echo "power:$(cat "$dir/power")" ;;
     boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo none)" ;;
     *) exit 1 ;; esac; done ;;
set) while [ $# -ge 2 ]; do case $1 in
     boot) echo "$2" > "$dir/boot" ;;
     power) echo "$2" > "$dir/power"
            if [ "$2" = 1 ]; then [ ! -x "$dir/on" ] || "$dir/on"; else [ ! -x "$dir/off" ] || "$dir/off"; fi ;;
     reset|shutdown) ;;
     *) exit 1 ;; esac; shift 2; done ;;
*) exit 1 ;;
esac
PROG
chmod +x "$S/chassis"
BMC=$(_bmc_in python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nsel_enable 0x20 1000 0x0a\nmc_enable 0x20\n' > "$S/sim.emu"
cat > "$S/lan.conf" <<CONF
name "nb"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $BMC
    priv_limit admin
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "$S/chassis"
  user 2 true "admin" "Bmc-pw-0451" admin 10 none md2 md5 straight
CONF
if [ -n "${BMC_NS:-}" ]; then
    ip netns exec "$BMC_NS" /usr/bin/ipmi_sim -c "$S/lan.conf" -f "$S/sim.emu" -s "$S/state" -n > "$S/sim.log" 2>&1 &
else
    /usr/bin/ipmi_sim -c "$S/lan.conf" -f "$S/sim.emu" -s "$S/state" -n > "$S/sim.log" 2>&1 &
fi
on_exit "kill $!"
until_true 30 sh -c "$( [ -n "${BMC_NS:-}" ] && echo "ip netns exec $BMC_NS ")ss -lun | grep -q '127.0.0.1:$BMC '" ||
    { cat "$S/sim.log" >&2; fail "ipmi_sim did not listen"; finish; }
