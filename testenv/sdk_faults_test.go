package testenv_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

func TestSDKFaultThrottleAndErrors(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1, Faults: &testenv.Faults{ThrottleRate: 1}})
	src := sdkBackup(t, env, testenv.ProfileSource)
	stsC := sdkSTS(t, env, testenv.ProfileSource)
	list := func() error {
		_, err := src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
		return err
	}
	describe := func() error {
		_, err := src.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("Default")})
		return err
	}

	// Options.Faults is in force from the start.
	sdkWantErr(t, list(), "ThrottlingException", 400)
	_, err := stsC.GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
	sdkWantErr(t, err, "Throttling", 400)

	// Limited to one operation.
	sdkNoErr(t, env.SetFaults(testenv.Faults{ThrottleRate: 1, Operations: []string{"ListBackupVaults"}}), "SetFaults")
	sdkWantErr(t, list(), "ThrottlingException", 400)
	sdkNoErr(t, describe(), "DescribeBackupVault is not in Operations")

	// 5xx.
	sdkNoErr(t, env.SetFaults(testenv.Faults{ErrorRate: 1}), "SetFaults")
	sdkWantTyped[*types.ServiceUnavailableException](t, list(), 500)
	_, err = stsC.GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
	sdkWantErr(t, err, "ServiceFailure", 500)
	_, err = sdkIAM(t, env, testenv.ProfileSource).GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("ShuffleOperator")})
	sdkWantErr(t, err, "ServiceFailure", 500)

	// Faults come before authentication: even a bad key sees them.
	cfg := env.Config(t, testenv.ProfileSource)
	bad := cfg.Copy()
	bad.Credentials = aws.AnonymousCredentials{}
	_, err = backup.NewFromConfig(bad).ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkWantTyped[*types.ServiceUnavailableException](t, err, 500)

	// No faults: everything works again; the counters saw every call.
	sdkNoErr(t, env.SetFaults(testenv.Faults{}), "SetFaults")
	sdkNoErr(t, list(), "ListBackupVaults without faults")
	snap := env.Counters().Snapshot()
	if snap.Calls["ListBackupVaults"] != 5 || snap.Calls["DescribeBackupVault"] != 1 || snap.Calls["GetCallerIdentity"] != 2 {
		t.Errorf("call counters %v", snap.Calls)
	}
	if snap.Faults["throttle"] != 3 || snap.Faults["5xx"] != 4 {
		t.Errorf("fault counters %v", snap.Faults)
	}
	if env.Counters().Calls("ListBackupVaults") != 5 {
		t.Errorf("Calls(ListBackupVaults) = %d", env.Counters().Calls("ListBackupVaults"))
	}
	env.Counters().Reset()
	if n := env.Counters().Calls("ListBackupVaults"); n != 0 {
		t.Errorf("after Reset: %d", n)
	}
}

func TestSDKFaultTPS(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1, Faults: &testenv.Faults{TPS: map[string]float64{"ListBackupVaults": 1}}})
	src := sdkBackup(t, env, testenv.ProfileSource)
	list := func() error {
		_, err := src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
		return err
	}
	sdkNoErr(t, list(), "first call under the TPS limit")
	if msg := sdkWantErr(t, list(), "ThrottlingException", 400); !strings.Contains(msg, "Rate exceeded") {
		t.Errorf("throttling message %q", msg)
	}
	// Other operations are not limited.
	for range 5 {
		_, err := src.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("Default")})
		sdkNoErr(t, err, "DescribeBackupVault")
	}
	time.Sleep(1100 * time.Millisecond)
	sdkNoErr(t, list(), "call after the token bucket refilled")
}

func TestSDKFaultResetAndLatency(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1, Faults: &testenv.Faults{ResetRate: 1}})
	src := sdkBackup(t, env, testenv.ProfileSource)
	_, err := src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	if err == nil {
		t.Fatal("ResetRate 1: call succeeded")
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		t.Fatalf("a reset connection surfaced as API error %s: %v", ae.ErrorCode(), err)
	}
	var se *smithyhttp.RequestSendError
	if !errors.As(err, &se) || sdkStatus(err) != 0 {
		t.Fatalf("want a transport error (RequestSendError) without an HTTP status, got %T: %v", err, err)
	}
	if env.Counters().Snapshot().Faults["reset"] == 0 {
		t.Error("no reset counted")
	}

	sdkNoErr(t, env.SetFaults(testenv.Faults{Latency: testenv.Duration(150 * time.Millisecond)}), "SetFaults")
	start := time.Now()
	_, err = src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "ListBackupVaults with latency")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("call took %v with 150ms injected latency", d)
	}
}

func TestSDKFaultCopyJobs(t *testing.T) {
	clk := newSDKClock()
	e := newSDKCopyEnv(t, testenv.Options{CopySpeed: 1000, Now: clk.Now, Faults: &testenv.Faults{CopyFailRate: 1}})
	rps := sdkPick(t, e.all, 3, sdkCopyable)

	// Real time, at copy speed 1000, for a copy of rp to finish.
	done := func(rp sdkRP) time.Duration {
		return (30*time.Second+testenv.CopyDuration(aws.ToString(rp.ResourceType), aws.ToInt64(rp.BackupSizeInBytes)))/1000 + time.Millisecond
	}
	id, err := sdkStartCopy(e.src, rps[0], e.dest)
	sdkNoErr(t, err, "StartCopyJob")
	clk.Advance(done(rps[0]))
	j := sdkWaitJob(t, e.src, id)
	if j.State != types.CopyJobStateFailed || !strings.Contains(strings.ToLower(aws.ToString(j.StatusMessage)), "retry") {
		t.Fatalf("CopyFailRate 1: job %s %q, want FAILED with a retryable message", j.State, aws.ToString(j.StatusMessage))
	}
	if j.DestinationRecoveryPointArn != nil {
		t.Error("a failed job has a destination RP")
	}
	// A retry after the fault clears succeeds.
	sdkNoErr(t, e.env.SetFaults(testenv.Faults{}), "SetFaults")
	id, err = sdkStartCopy(e.src, rps[0], e.dest)
	sdkNoErr(t, err, "StartCopyJob retry")
	clk.Advance(done(rps[0]))
	if j := sdkWaitJob(t, e.src, id); j.State != types.CopyJobStateCompleted {
		t.Fatalf("retry: %s %q", j.State, aws.ToString(j.StatusMessage))
	}

	// CreatedDelayRate: the job sits in CREATED far beyond the usual 30 s.
	sdkNoErr(t, e.env.SetFaults(testenv.Faults{CreatedDelayRate: 1}), "SetFaults")
	id, err = sdkStartCopy(e.src, rps[1], e.dest)
	sdkNoErr(t, err, "StartCopyJob")
	clk.Advance(3600 * time.Second / 1000) // one simulated hour
	out, err := e.src.DescribeCopyJob(sdkCtx, &backup.DescribeCopyJobInput{CopyJobId: aws.String(id)})
	sdkNoErr(t, err, "DescribeCopyJob")
	if out.CopyJob.State != types.CopyJobStateCreated {
		t.Fatalf("after one simulated hour a delayed job is %s, want CREATED", out.CopyJob.State)
	}
	clk.Advance(2 * 3600 * time.Second / 1000)
	out, err = e.src.DescribeCopyJob(sdkCtx, &backup.DescribeCopyJobInput{CopyJobId: aws.String(id)})
	sdkNoErr(t, err, "DescribeCopyJob")
	if out.CopyJob.State == types.CopyJobStateCreated {
		t.Fatal("after three simulated hours the delayed job is still CREATED")
	}
}

// sdkAdmin calls the admin API and decodes a JSON answer into out (when
// not nil). It returns the status and the raw body.
func sdkAdmin(t testing.TB, env *testenvtest.Env, method, path, body string, out any) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

func TestSDKAdminAPI(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 300, CopySpeed: 1e6})
	src := sdkBackup(t, env, testenv.ProfileSource)

	var health map[string]any
	if st, body := sdkAdmin(t, env, "GET", "/_testenv/health", "", &health); st != 200 || health["ok"] != true || health["endpoint"] != env.URL || health["region"] != "us-east-1" {
		t.Fatalf("health: %d %s", st, body)
	}

	// Faults over HTTP.
	if st, body := sdkAdmin(t, env, "PUT", "/_testenv/faults", `{"throttle_rate": 1, "operations": ["DescribeBackupVault"]}`, nil); st != 200 {
		t.Fatalf("PUT faults: %d %s", st, body)
	}
	var f testenv.Faults
	sdkAdmin(t, env, "GET", "/_testenv/faults", "", &f)
	if f.ThrottleRate != 1 || len(f.Operations) != 1 || f.Operations[0] != "DescribeBackupVault" {
		t.Errorf("GET faults = %+v", f)
	}
	_, err := src.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("Default")})
	sdkWantErr(t, err, "ThrottlingException", 400)
	_, err = src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "ListBackupVaults")
	for body, want := range map[string]string{
		`{"throttle_rat": 1}`:       "throttle_rat",
		`{"error_rate": 2}`:         "between 0 and 1",
		`{"tps": {"ListTags": -1}}`: "positive",
		`{"latency": "soon"}`:       "latency",
		`not json`:                  "bad request body",
	} {
		st, resp := sdkAdmin(t, env, "PUT", "/_testenv/faults", body, nil)
		if st != 400 || !strings.Contains(resp, want) {
			t.Errorf("PUT faults %s: %d %s, want 400 mentioning %q", body, st, resp, want)
		}
	}
	// The rejected bodies left the faults alone.
	sdkAdmin(t, env, "GET", "/_testenv/faults", "", &f)
	if f.ThrottleRate != 1 {
		t.Errorf("faults after rejected PUTs: %+v", f)
	}
	sdkAdmin(t, env, "PUT", "/_testenv/faults", `{}`, nil)
	_, err = src.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("Default")})
	sdkNoErr(t, err, "DescribeBackupVault after clearing faults")

	// Counters over HTTP, after a copy.
	dest := sdkDestVault(t, env, "sdk-admin-dest", true)
	rp := sdkPick(t, sdkAllSourceRPs(t, env), 1, sdkCopyable)[0]
	id, err := sdkStartCopy(src, rp, dest)
	sdkNoErr(t, err, "StartCopyJob")
	sdkWaitJob(t, src, id)
	var snap testenv.CountersSnapshot
	if st, body := sdkAdmin(t, env, "GET", "/_testenv/counters", "", &snap); st != 200 {
		t.Fatalf("GET counters: %d %s", st, body)
	}
	if snap.Calls["DescribeBackupVault"] != 2 || snap.Calls["StartCopyJob"] != 1 || snap.Faults["throttle"] != 1 {
		t.Errorf("counters calls %v faults %v", snap.Calls, snap.Faults)
	}
	if snap.StartCopyCalls[rp.Arn()] != 1 || snap.JobsCreated[rp.Arn()+" "+dest] != 1 {
		t.Errorf("copy counters %v / %v", snap.StartCopyCalls, snap.JobsCreated)
	}
	if st, _ := sdkAdmin(t, env, "POST", "/_testenv/counters/reset", "", nil); st != 200 {
		t.Fatal("reset counters")
	}
	var zero testenv.CountersSnapshot
	sdkAdmin(t, env, "GET", "/_testenv/counters", "", &zero)
	if zero.Calls == nil || len(zero.Calls) != 0 || len(zero.JobsCreated) != 0 || len(zero.StartCopyCalls) != 0 {
		t.Errorf("counters after reset: %+v", zero)
	}

	// Quotas over HTTP; zero fields take the AWS defaults.
	var q testenv.Quotas
	if st, body := sdkAdmin(t, env, "PUT", "/_testenv/quotas", `{"account_copy_jobs": 7}`, &q); st != 200 || q.AccountCopyJobs != 7 || q.VaultCopyJobs != 5 || q.ResourceJobs != 1 {
		t.Errorf("PUT quotas: %d %s", st, body)
	}
	sdkAdmin(t, env, "GET", "/_testenv/quotas", "", &q)
	if q != env.Quotas() || q.AccountCopyJobs != 7 {
		t.Errorf("GET quotas %+v, server %+v", q, env.Quotas())
	}

	// Global settings over HTTP.
	if st, body := sdkAdmin(t, env, "PUT", "/_testenv/global-settings/111111111111", `{"cross_account_backup": false}`, nil); st != 200 {
		t.Fatalf("PUT global-settings: %d %s", st, body)
	}
	gs, err := src.DescribeGlobalSettings(sdkCtx, &backup.DescribeGlobalSettingsInput{})
	sdkNoErr(t, err, "DescribeGlobalSettings")
	if gs.GlobalSettings["isCrossAccountBackupEnabled"] != "false" {
		t.Errorf("after PUT global-settings: %v", gs.GlobalSettings)
	}
	if st, _ := sdkAdmin(t, env, "PUT", "/_testenv/global-settings/999999999999", `{"cross_account_backup": false}`, nil); st != 400 {
		t.Errorf("unknown account: %d", st)
	}
	if st, _ := sdkAdmin(t, env, "PUT", "/_testenv/global-settings/111111111111", `{}`, nil); st != 400 {
		t.Errorf("empty global-settings body: %d", st)
	}

	// Policies over HTTP, as strings or as objects.
	ro := sdkBackup(t, env, testenv.ProfileSourceReadOnly)
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"backup:*","Resource":"*"}]}`
	if st, body := sdkAdmin(t, env, "PUT", "/_testenv/policies/source-readonly", `[`+deny+`]`, nil); st != 200 {
		t.Fatalf("PUT policies: %d %s", st, body)
	}
	_, err = ro.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkWantErr(t, err, "AccessDeniedException", 403)
	allowJSON, _ := json.Marshal([]string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:List*","Resource":"*"}]}`})
	if st, body := sdkAdmin(t, env, "PUT", "/_testenv/policies/source-readonly", string(allowJSON), nil); st != 200 {
		t.Fatalf("PUT policies: %d %s", st, body)
	}
	_, err = ro.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "ListBackupVaults after the policy allowed it")
	if st, body := sdkAdmin(t, env, "PUT", "/_testenv/policies/nobody", `[`+deny+`]`, nil); st != 400 || !strings.Contains(body, "nobody") {
		t.Errorf("unknown profile: %d %s", st, body)
	}
	if st, _ := sdkAdmin(t, env, "PUT", "/_testenv/policies/source", `["{\"Statement\": 5}"]`, nil); st != 400 {
		t.Errorf("invalid policy accepted: %d", st)
	}

	// Rotation switch and an immediate rotation.
	if st, _ := sdkAdmin(t, env, "POST", "/_testenv/rotation", `{"enabled": false}`, nil); st != 200 || env.Rotating() {
		t.Errorf("POST rotation off: %d rotating=%v", st, env.Rotating())
	}
	sdkAdmin(t, env, "GET", "/_testenv/health", "", &health)
	if health["rotating"] != false {
		t.Errorf("health after rotation off: %v", health)
	}
	if st, _ := sdkAdmin(t, env, "POST", "/_testenv/rotation", `{}`, nil); st != 400 {
		t.Errorf("POST rotation without enabled: %d", st)
	}
	sdkAdmin(t, env, "POST", "/_testenv/rotation", `{"enabled": true}`, nil)
	if !env.Rotating() {
		t.Error("rotation not back on")
	}
	before, _ := env.Current(testenv.ProfileSource)
	if st, _ := sdkAdmin(t, env, "POST", "/_testenv/rotate", "", nil); st != 200 {
		t.Fatal("POST rotate")
	}
	after, _ := env.Current(testenv.ProfileSource)
	if after.AccessKeyID == before.AccessKeyID || sdkCredFile(t, env)["source"]["aws_access_key_id"] != after.AccessKeyID {
		t.Errorf("rotate: key %s -> %s, file has %s", before.AccessKeyID, after.AccessKeyID, sdkCredFile(t, env)["source"]["aws_access_key_id"])
	}
	_, err = sdkBackup(t, env, testenv.ProfileSource).ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "new keys after rotate")
	_, err = src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "old long-lived keys after rotate")

	// Unknown endpoints and methods.
	for _, r := range [][2]string{{"GET", "/_testenv/nope"}, {"DELETE", "/_testenv/faults"}} {
		if st, body := sdkAdmin(t, env, r[0], r[1], "", nil); st != 404 || !strings.Contains(body, "docs/testenv.md") {
			t.Errorf("%s %s: %d %s", r[0], r[1], st, body)
		}
	}
}

func TestSDKLoadFaults(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := testenv.Faults{
		Latency: testenv.Duration(20 * time.Millisecond), ErrorRate: 0.1, ResetRate: 0.01, ThrottleRate: 0.05,
		TPS: map[string]float64{"StartCopyJob": 10}, Operations: []string{"StartCopyJob", "ListCopyJobs"},
		CopyFailRate: 0.02, CreatedDelayRate: 0.03, ShortPageRate: 0.5,
	}
	check := func(name string, got *testenv.Faults, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s:\n got %s\nwant %s", name, g, w)
		}
	}
	f, err := testenv.LoadFaults(write("faults.json", `{
  "latency": "20ms", "error_rate": 0.1, "reset_rate": 0.01, "throttle_rate": 0.05,
  "tps": {"StartCopyJob": 10}, "operations": ["StartCopyJob", "ListCopyJobs"],
  "copy_fail_rate": 0.02, "copy_created_delay_rate": 0.03, "short_page_rate": 0.5
}`))
	check("JSON", f, err)
	for _, ext := range []string{"yaml", "yml"} {
		f, err = testenv.LoadFaults(write("faults."+ext, `# faults for a soak
latency: 20ms
error_rate: 0.1
reset_rate: 0.01
throttle_rate: 0.05
tps:
  StartCopyJob: 10
operations: [StartCopyJob, ListCopyJobs]
copy_fail_rate: 0.02
copy_created_delay_rate: 0.03
short_page_rate: 0.5
`))
		check(ext, f, err)
	}

	for name, tc := range map[string]struct{ file, body, want string }{
		"JSON unknown field": {"a.json", `{"eror_rate": 0.1}`, "eror_rate"},
		"YAML unknown field": {"a.yaml", "eror_rate: 0.1\n", "eror_rate"},
		"JSON rate above 1":  {"b.json", `{"throttle_rate": 1.5}`, "throttle_rate must be between 0 and 1"},
		"YAML rate above 1":  {"b.yaml", "copy_fail_rate: 2\n", "copy_fail_rate must be between 0 and 1"},
		"negative rate":      {"c.json", `{"short_page_rate": -0.1}`, "short_page_rate must be between 0 and 1"},
		"bad latency JSON":   {"d.json", `{"latency": 5}`, "latency"},
		"bad latency YAML":   {"d.yaml", "latency: soon\n", "latency"},
		"zero TPS":           {"e.json", `{"tps": {"ListTags": 0}}`, "tps for ListTags must be positive"},
		"not JSON":           {"f.json", `error_rate: 0.1`, "faults file"},
		"YAML type mismatch": {"g.yaml", "error_rate: lots\n", "line 1"},
		"missing file":       {"", "", "read faults file"},
	} {
		path := filepath.Join(dir, "does-not-exist.json")
		if tc.file != "" {
			path = write(tc.file, tc.body)
		}
		_, err := testenv.LoadFaults(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, tc.want)
		}
	}

	// Invalid faults are refused by New and SetFaults too.
	if _, err := testenv.New(testenv.Options{RecoveryPoints: -1, Faults: &testenv.Faults{ErrorRate: 2}}); err == nil {
		t.Error("New accepted error_rate 2")
	}
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	if err := env.SetFaults(testenv.Faults{ResetRate: 1.01}); err == nil {
		t.Error("SetFaults accepted reset_rate 1.01")
	}
	// A loaded file drives the emulator.
	f, err = testenv.LoadFaults(write("throttle.yaml", "throttle_rate: 1\noperations: [ListBackupVaults]\n"))
	sdkNoErr(t, err, "LoadFaults")
	sdkNoErr(t, env.SetFaults(*f), "SetFaults")
	_, err = sdkBackup(t, env, testenv.ProfileSource).ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkWantErr(t, err, "ThrottlingException", 400)
}

// TestSDKFaultShortPages: with short_page_rate 1 every list page that
// could be full comes back short with a NextToken, and the paginators
// still return everything.
func TestSDKFaultShortPages(t *testing.T) {
	e := newSDKCopyEnv(t, testenv.Options{RecoveryPoints: 300})
	var ids []string
	for _, rp := range sdkPick(t, e.all, 7, sdkCopyable) {
		id, err := sdkStartCopy(e.src, rp, e.dest)
		sdkNoErr(t, err, "StartCopyJob")
		ids = append(ids, id)
	}
	wantVaults := sdkVaultNames(t, e.src)
	sdkNoErr(t, e.env.SetFaults(testenv.Faults{ShortPageRate: 1}), "SetFaults")

	vp, err := e.src.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{MaxResults: aws.Int32(6)})
	sdkNoErr(t, err, "ListBackupVaults")
	if len(vp.BackupVaultList) >= 6 || vp.NextToken == nil {
		t.Errorf("short ListBackupVaults page: %d vaults, token %v", len(vp.BackupVaultList), vp.NextToken)
	}
	var gotVaults []string
	p := backup.NewListBackupVaultsPaginator(e.src, &backup.ListBackupVaultsInput{MaxResults: aws.Int32(6)})
	for p.HasMorePages() {
		page, err := p.NextPage(sdkCtx)
		sdkNoErr(t, err, "ListBackupVaults page")
		for _, v := range page.BackupVaultList {
			gotVaults = append(gotVaults, aws.ToString(v.BackupVaultName))
		}
	}
	if strings.Join(gotVaults, ",") != strings.Join(wantVaults, ",") {
		t.Errorf("short-paged vaults %v, want %v", gotVaults, wantVaults)
	}

	jp, err := e.src.ListCopyJobs(sdkCtx, &backup.ListCopyJobsInput{MaxResults: aws.Int32(6)})
	sdkNoErr(t, err, "ListCopyJobs")
	if len(jp.CopyJobs) >= 6 || jp.NextToken == nil {
		t.Errorf("short ListCopyJobs page: %d jobs, token %v", len(jp.CopyJobs), jp.NextToken)
	}
	got := map[string]bool{}
	jpg := backup.NewListCopyJobsPaginator(e.src, &backup.ListCopyJobsInput{MaxResults: aws.Int32(6)})
	for jpg.HasMorePages() {
		page, err := jpg.NextPage(sdkCtx)
		sdkNoErr(t, err, "ListCopyJobs page")
		for _, j := range page.CopyJobs {
			if got[aws.ToString(j.CopyJobId)] {
				t.Errorf("job %s listed twice", aws.ToString(j.CopyJobId))
			}
			got[aws.ToString(j.CopyJobId)] = true
		}
	}
	for _, id := range ids {
		if !got[id] {
			t.Errorf("job %s missing from the short-paged listing", id)
		}
	}
	if len(got) != len(ids) {
		t.Errorf("short-paged listing has %d jobs, want %d", len(got), len(ids))
	}
}
