#!/usr/bin/env bash
# make demo: start the bundled emulator with representative data and run
# the main job against it: the policy tests, 'shuffle plan --out' on the
# operator's script (the approved plan) and 'shuffle show', 'shuffle
# check' (with the compliance policy, before and after the run), then
# 'shuffle run --plan' (vault replication and the copy, exactly once), a
# second run that has nothing left to do (its --json summary), 'shuffle
# verify', 'shuffle cutover', and the AWS CLI looking at the result. Copy jobs run on the
# emulator's simulated clock, 200,000 times faster than AWS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin/shuffle
DIR=$(mktemp -d "${TMPDIR:-/tmp}/shuffle-demo.XXXXXX")
LOG="$DIR/testenv.log"

# shellcheck source=scripts/testenv-lib.sh
. scripts/testenv-lib.sh
start_testenv "$DIR/testenv-run" "$LOG" --recovery-points 5000 --copy-speed 200000
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
wait_testenv "$LOG"
cat "$LOG"
# shellcheck disable=SC1091
. "$DIR/testenv-run/env"
# The script names testenv-run/metadata.csv and policies/ relative to
# where it runs, as it would from the repository root.
cp -r "$ROOT/examples" "$ROOT/policies" "$DIR/"
cd "$DIR"

echo
echo "== shuffle policy test policies/"
"$BIN" policy test policies/
echo
echo "== shuffle plan examples/migrate.lua --out approved.plan   (state in $DIR/.shuffle; the plan file is what the security team approves)"
"$BIN" plan examples/migrate.lua --out approved.plan
echo
echo "== shuffle show approved.plan   (its checksum verified first; an edited file is refused)"
"$BIN" show approved.plan | sed -n 1,14p
echo
echo "== the same plan again: each vault listed only from its newest recovery point (one page each), nothing new, nothing decided again"
"$BIN" plan examples/migrate.lua --json | grep -E '"(listed_pages|new|deltas)"'
echo
echo "== shuffle check examples/migrate.lua --skip-encryption   (pre-flight, with the compliance policy: summary lines;"
echo "   the vaults the run would create are judged as it would create them: proposed)"
"$BIN" check examples/migrate.lua --skip-encryption | grep -E '^(COMPLIANCE|OK|BLOCKED|NOT COMPLIANT|HELD|destination vault)'
echo
echo "== compliance before creation, what if: had policies/vaults.lua kept prod-ebs-daily's organization-wide"
echo "   statement (Principal \"*\" under aws:PrincipalOrgID), its replica would fail compliance.lua: plan (on a"
echo "   copy of the policies and a state of its own) shows that vault held with the rule; nothing else changes"
mkdir -p "$DIR/what-if"
cp -r examples policies "$DIR/what-if/"
ln -s "$DIR/testenv-run" "$DIR/what-if/testenv-run"
sed -i.bak 's/^M.access_exceptions = {}/M.access_exceptions = { ["prod-ebs-daily"] = { AllowOrgCopyIn = "keep" } }/' "$DIR/what-if/policies/vaults.lua"
rm -f "$DIR/what-if/policies/vaults.lua.bak"
(cd "$DIR/what-if" && "$BIN" plan examples/migrate.lua | grep -E '^Blocked: .*compliance')
echo
echo "== shuffle run examples/migrate.lua --plan approved.plan   (replicate the vaults, copy exactly the approved recovery points;"
echo "   had the inventory or the policies changed since the plan, it would stop before any write with exit 5)"
"$BIN" run examples/migrate.lua --plan approved.plan
echo
echo "== the same run again: every copy is done, nothing is started twice (--json: its events, one JSON object a line; the last, its summary)"
"$BIN" run examples/migrate.lua --plan approved.plan --json 2>/dev/null | tail -1
echo
echo "== shuffle verify examples/migrate.lua"
"$BIN" verify examples/migrate.lua 2>/dev/null
echo
echo "== shuffle cutover examples/migrate.lua --as-of last-run   (the gate before switching backup plans)"
"$BIN" cutover examples/migrate.lua --as-of last-run 2>/dev/null | tail -4
echo
echo "== shuffle check after the run: the destination vaults against policies/compliance.lua"
echo "   (the run created only vaults that comply: unlocked production sources got vaults.lua's governance lock,"
echo "   and prod-ebs-daily's organization-wide statement was not copied; warnings remain, nothing blocks)"
"$BIN" check examples/migrate.lua --skip-encryption | grep -E '^(COMPLIANCE|OK|BLOCKED|NOT COMPLIANT|HELD|destination vault)'
echo
if command -v aws >/dev/null 2>&1; then
  echo "== the AWS CLI against the same emulator ($(aws --version 2>&1))"
  set -x
  aws --profile source sts get-caller-identity --output text
  aws --profile destination backup list-backup-vaults --output table \
    --query 'BackupVaultList[].{Vault:BackupVaultName,Type:VaultType,RPs:NumberOfRecoveryPoints,Locked:Locked}'
  aws --profile source backup list-copy-jobs --by-state COMPLETED --max-items 3 --output table \
    --query 'CopyJobs[].{Job:CopyJobId,Type:ResourceType,Bytes:BackupSizeInBytes,State:State}' 
  aws --profile source backup list-recovery-points-by-backup-vault --backup-vault-name prod-rds-daily \
    --page-size 7 --max-items 3 --output table \
    --query 'RecoveryPoints[].{Type:ResourceType,Status:Status,Bytes:BackupSizeInBytes,Resource:ResourceArn}'
  aws --profile source-readonly backup start-copy-job --recovery-point-arn arn:aws:ec2:us-east-1::snapshot/snap-0 \
    --source-backup-vault-name prod-ebs-daily --destination-backup-vault-arn arn:aws:backup:us-east-1:222222222222:backup-vault:prod-ebs-daily \
    --iam-role-arn arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole || true
  set +x
else
  echo "(the AWS CLI is not installed; skipping the CLI part of the demo)"
fi
echo
echo "demo done; everything it made is in $DIR"
