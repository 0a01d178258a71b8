#!/bin/sh
# A real Slurm job array over a folder of images, on a one-node cluster
# started here (slurmctld + slurmd + munged on localhost, private ports,
# state and sockets under a scratch directory):
#   - sbatch --array=1-3 runs `srgan-up --shard slurm --report rep_%K.csv`;
#   - the parts' reports merge into one (srgan-up --merge-reports);
#   - every file is written exactly once (the merged report has one row per
#     input, all "written") and the outputs equal a single-process run;
#   - a retry after deleting one output redoes only that file.
# Skipped (exit 77) when the Slurm or munge binaries are missing or the
# daemons cannot start here (say, no root for munged); the reason is printed.
# Usage (from meson): test_slurm.sh SRGAN_UP IMGTOOL
set -u
UP=$(readlink -f "$1")
IMG=$(readlink -f "$2")
skip() { echo "SKIP: $*"; exit 77; }
for b in slurmctld slurmd sbatch sinfo scontrol munged; do
    command -v $b >/dev/null 2>&1 || skip "$b not installed (apt-get install slurm-wlm munge)"
done
[ "$(id -u)" = 0 ] || skip "the one-node cluster runs its daemons as root; not root here"
[ -r /etc/munge/munge.key ] || skip "no /etc/munge/munge.key (the munge package creates it)"

T=$(mktemp -d "${SRGAN_TMPDIR:-/tmp}/slurm.XXXXXX")
HOST=$(hostname -s)
# Ports unlikely to be in use; a second cluster on the machine picks others.
BASE=$((20000 + $$ % 20000))
export SLURM_CONF="$T/slurm.conf"
cleanup() {
    scontrol shutdown >/dev/null 2>&1
    [ -f "$T/munged.pid" ] && kill "$(cat "$T/munged.pid")" 2>/dev/null
    sleep 1
    for p in slurmctld slurmd; do [ -f "$T/$p.pid" ] && kill -9 "$(cat "$T/$p.pid")" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/state" "$T/spool" "$T/log" "$T/in/sub" "$T/out" "$T/ref"
cat > "$SLURM_CONF" <<EOF
ClusterName=srgantest
SlurmctldHost=$HOST
SlurmctldPort=$BASE
SlurmdPort=$((BASE + 1))
AuthType=auth/munge
AuthInfo=socket=$T/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/ctld.log
SlurmdLogFile=$T/log/d.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$HOST CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
munged --force --socket="$T/munge.sock" --pid-file="$T/munged.pid" --log-file="$T/log/munge.log" \
    --seed-file="$T/munge.seed" >/dev/null 2>&1 || skip "munged does not start here"
slurmctld >/dev/null 2>&1 || skip "slurmctld does not start here"
slurmd >/dev/null 2>&1 || skip "slurmd does not start here"
i=0
until sinfo -h -o %t 2>/dev/null | grep -q idle; do
    i=$((i + 1))
    [ $i -gt 60 ] && skip "the node did not become idle in 30 s: $(tail -n 3 "$T/log/ctld.log" | tr '\n' ' ')"
    sleep 0.5
done

. "$(dirname "$0")/../testlib.sh" # pass/fail counters, ok, bad, check

# Seven images of different sizes; one much larger than the rest.
"$IMG" make "$T/in/big.png" 200 150 3 u8
for n in 1 2 3; do "$IMG" make "$T/in/a$n.png" $((10 + n)) 9 3 u8; done
for n in 1 2 3; do "$IMG" make "$T/in/sub/b$n.tif" 12 $((8 + n)) 1 u16; done
ARGS="--method bicubic -x 2 -i $T/in -o $T/out -r"

cat > "$T/job.sh" <<EOF
#!/bin/sh
exec "$UP" $ARGS --shard slurm --report "$T/rep_%K.csv"
EOF
chmod +x "$T/job.sh"
sbatch --wait --array=1-3 -o "$T/log/job_%a.out" "$T/job.sh" >"$T/sbatch.out" 2>&1
check "sbatch --array=1-3 finished" [ $? -eq 0 ]
check "three reports" [ -f "$T/rep_1.csv" ] && [ -f "$T/rep_2.csv" ] && [ -f "$T/rep_3.csv" ]
"$UP" --merge-reports "$T/all.csv" "$T/rep_1.csv" "$T/rep_2.csv" "$T/rep_3.csv"
check "reports merge" [ $? -eq 0 ]
check "one row per input, all written" [ "$(grep -c ',written,' "$T/all.csv")" = 7 ] && \
    [ "$(wc -l < "$T/all.csv")" = 8 ]
rows=$(cat "$T"/rep_*.csv | grep -v '^input,' | wc -l)
check "each file in exactly one part" [ "$rows" = 7 ]
big=$(grep -l 'big.png' "$T"/rep_*.csv)
check "the big file's part holds nothing else" [ "$(grep -vc '^input,' "$big")" = 1 ]
"$UP" -q $ARGS -o "$T/ref" >/dev/null 2>&1
same=1
for f in big.png a1.png a2.png a3.png sub/b1.tif sub/b2.tif sub/b3.tif; do
    [ "$("$IMG" diff "$T/out/$f" "$T/ref/$f" 2>/dev/null)" = 0 ] || same=0
done
check "array output equals a single-process run" [ $same -eq 1 ]

# A retry: one output lost; the same array with --skip-existing redoes it only.
rm "$T/out/a2.png" "$T"/rep_*.csv
sed -i 's/--shard slurm/--shard slurm --skip-existing/' "$T/job.sh"
sbatch --wait --array=1-3 -o "$T/log/retry_%a.out" "$T/job.sh" >/dev/null 2>&1
"$UP" --merge-reports "$T/retry.csv" "$T"/rep_*.csv
check "retry rewrote the lost file" [ -f "$T/out/a2.png" ]
check "retry wrote only that file" [ "$(grep -c ',written,' "$T/retry.csv")" = 1 ]

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
