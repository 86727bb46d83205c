package testenv_test

// The token authority through the real aws-sdk-go-v2 credential chain:
// config.LoadDefaultConfig with each of the profiles source-assumed,
// destination-assumed, source-sso and source-process must reach the
// emulator for AssumeRole, GetRoleCredentials, CreateToken and the
// credential_process, with nothing but the written files and HOME.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

var (
	tokBinOnce sync.Once
	tokBin     string
	tokBinErr  error
)

// tokShuffle builds the shuffle binary once per test run: the
// source-process profile runs its credential-process command.
func tokShuffle(t *testing.T) string {
	t.Helper()
	tokBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shuffle-tokens-")
		if err != nil {
			tokBinErr = err
			return
		}
		tokBin = filepath.Join(dir, "shuffle bin", "shuffle") // a space, as the quoting must survive
		out, err := exec.Command("go", "build", "-o", tokBin, "github.com/shuffle-migrate/shuffle/cmd/shuffle").CombinedOutput()
		if err != nil {
			tokBinErr = errors.New("go build shuffle: " + err.Error() + "\n" + string(out))
		}
	})
	if tokBinErr != nil {
		t.Fatal(tokBinErr)
	}
	return tokBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tokBin != "" {
		os.RemoveAll(filepath.Dir(filepath.Dir(tokBin)))
	}
	os.Exit(code)
}

// tokStart starts an emulator whose source-process runs the built
// binary, with HOME pointing at its SSO cache.
func tokStart(t *testing.T, o testenv.Options) *testenvtest.Env {
	env, _ := tokStartLogged(t, o)
	return env
}

// tokStartLogged is tokStart, and returns the emulator's log so far.
func tokStartLogged(t *testing.T, o testenv.Options) (*testenvtest.Env, func() string) {
	t.Helper()
	var mu sync.Mutex
	var log strings.Builder
	o.Logf = func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&log, f+"\n", a...)
	}
	o.RecoveryPoints = -1
	o.ProcessCommand = tokShuffle(t)
	env := testenvtest.Start(t, o)
	t.Setenv("HOME", env.Home)
	return env, func() string {
		mu.Lock()
		defer mu.Unlock()
		return log.String()
	}
}

// tokNoSecrets fails when text holds any of the secrets.
func tokNoSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s carries a secret (%.6s...)", what, s)
		}
	}
}

// tokLoad loads a profile afresh, as a new process would.
func tokLoad(t *testing.T, env *testenvtest.Env, profile string) (aws.Config, error) {
	t.Helper()
	return config.LoadDefaultConfig(context.Background(),
		config.WithSharedConfigFiles([]string{env.ConfigPath()}),
		config.WithSharedCredentialsFiles([]string{env.CredentialsPath()}),
		config.WithSharedConfigProfile(profile),
		config.WithRetryMaxAttempts(1))
}

// tokWho returns the caller ARN of a freshly loaded profile.
func tokWho(t *testing.T, env *testenvtest.Env, profile string) (string, error) {
	t.Helper()
	cfg, err := tokLoad(t, env, profile)
	if err != nil {
		return "", err
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

func tokStatic(c aws.Credentials) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

func TestAssumeRoleProfilesReachTheEmulator(t *testing.T) {
	env := tokStart(t, testenv.Options{})
	for profile, want := range map[string]string{
		testenv.ProfileSourceBase:         "arn:aws:sts::111111111111:assumed-role/ShuffleBase/shuffle",
		testenv.ProfileSourceAssumed:      "arn:aws:sts::111111111111:assumed-role/ShuffleOperator/aws-go-sdk-",
		testenv.ProfileDestinationAssumed: "arn:aws:sts::222222222222:assumed-role/ShuffleOperator/aws-go-sdk-",
		testenv.ProfileSourceSSO:          "arn:aws:sts::111111111111:assumed-role/ShuffleOperator/operator@example.com",
		testenv.ProfileSourceProcess:      "arn:aws:sts::111111111111:assumed-role/ShuffleOperator/credential-process",
		testenv.ProfileSourceWebIdentity:  "arn:aws:sts::111111111111:assumed-role/ShuffleOperator/",
	} {
		got, err := tokWho(t, env, profile)
		if err != nil {
			t.Errorf("profile %s: GetCallerIdentity: %v", profile, err)
			continue
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("profile %s: caller %s, want %s...", profile, got, want)
		}
	}
	snap := env.Counters().Snapshot()
	for op, min := range map[string]int64{"AssumeRole": 2, "GetRoleCredentials": 1} {
		if snap.Calls[op] < min {
			t.Errorf("%d %s calls counted, want at least %d: %v", snap.Calls[op], op, min, snap.Calls)
		}
	}
	// The assumed role's policies apply, not the base role's.
	cfg, err := tokLoad(t, env, testenv.ProfileSourceAssumed)
	sdkNoErr(t, err, "load source-assumed")
	_, err = backup.NewFromConfig(cfg).ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "ListBackupVaults as source-assumed")
	cfg, err = tokLoad(t, env, testenv.ProfileSourceBase)
	sdkNoErr(t, err, "load source-base")
	_, err = backup.NewFromConfig(cfg).ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkWantErr(t, err, "AccessDeniedException", 403)
	// And the destination role, reached from the source account.
	cfg, err = tokLoad(t, env, testenv.ProfileDestinationAssumed)
	sdkNoErr(t, err, "load destination-assumed")
	_, err = backup.NewFromConfig(cfg).CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("via-assumed-role")})
	sdkNoErr(t, err, "CreateBackupVault as destination-assumed")
}

func TestAssumeRoleChainOfTwoHops(t *testing.T) {
	env := tokStart(t, testenv.Options{})
	f, err := os.OpenFile(env.ConfigPath(), os.O_APPEND|os.O_WRONLY, 0)
	sdkNoErr(t, err, "open aws/config")
	_, err = f.WriteString("\n[profile chained]\nrole_arn = arn:aws:iam::111111111111:role/ShuffleReadOnly\nsource_profile = " +
		testenv.ProfileSourceAssumed + "\nrole_session_name = second-hop\nregion = us-east-1\nservices = testenv\n")
	sdkNoErr(t, err, "append a profile")
	sdkNoErr(t, f.Close(), "close aws/config")

	// The operator role may not assume roles: the second hop is refused.
	_, err = tokWho(t, env, "chained")
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatalf("second hop without sts:AssumeRole: %v, want AccessDenied", err)
	}
	pol := []string{testenv.DefaultPolicies[testenv.ProfileSource],
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111111111111:role/ShuffleReadOnly"}]}`}
	sdkNoErr(t, env.SetPolicies(testenv.ProfileSourceAssumed, pol), "SetPolicies")
	before := env.Counters().Snapshot().Calls["AssumeRole"]
	got, err := tokWho(t, env, "chained")
	sdkNoErr(t, err, "GetCallerIdentity through two hops")
	if want := "arn:aws:sts::111111111111:assumed-role/ShuffleReadOnly/second-hop"; got != want {
		t.Errorf("caller %s, want %s", got, want)
	}
	if n := env.Counters().Snapshot().Calls["AssumeRole"] - before; n != 2 {
		t.Errorf("%d AssumeRole calls for two hops", n)
	}
}

func TestAssumeRoleRefusals(t *testing.T) {
	env, logs := tokStartLogged(t, testenv.Options{})
	base, _ := env.Current(testenv.ProfileSourceBase)
	client := sdkSTS(t, env, testenv.ProfileSourceBase)
	assume := func(c *sts.Client, arn, session string, secs int32) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String(session)}
		if secs != 0 {
			in.DurationSeconds = aws.Int32(secs)
		}
		return c.AssumeRole(sdkCtx, in)
	}
	noSecret := func(err error) {
		t.Helper()
		if err != nil && (strings.Contains(err.Error(), base.SecretAccessKey) || strings.Contains(err.Error(), base.SessionToken) && base.SessionToken != "") {
			t.Errorf("an error carries the caller's secret: %v", err)
		}
	}
	const srcOp, dstNoLock = "arn:aws:iam::111111111111:role/ShuffleOperator", "arn:aws:iam::222222222222:role/ShuffleOperatorNoLock"

	// Untrusted: the base role may assume anything, but the no-lock
	// role trusts its own account only.
	sdkNoErr(t, env.SetPolicies(testenv.ProfileSourceBase, []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`}), "SetPolicies")
	_, err := assume(client, dstNoLock, "s1", 0)
	msg := sdkWantErr(t, err, "AccessDenied", 403)
	if !strings.Contains(msg, "assumed-role/ShuffleBase/shuffle") || !strings.Contains(msg, dstNoLock) {
		t.Errorf("AccessDenied message %q names neither the caller nor the role", msg)
	}
	noSecret(err)
	if l := logs(); !strings.Contains(l, "trust policy does not admit") {
		t.Errorf("the log does not say the trust policy refused:\n%s", l)
	}
	_, err = assume(client, "arn:aws:iam::111111111111:role/NoSuchRole", "s1", 0)
	sdkWantErr(t, err, "AccessDenied", 403)
	// Trusted, but the caller's own policies do not allow sts:AssumeRole.
	_, err = assume(sdkSTS(t, env, testenv.ProfileSource), srcOp, "s1", 0)
	sdkWantErr(t, err, "AccessDenied", 403)

	for _, c := range []struct {
		session string
		secs    int32
		what    string
	}{
		{"s1", 899, "greater than or equal to 900"},
		{"s1", 3601, "MaxSessionDuration"},
		{"s1", 43201, "less than or equal to 43200"},
		{"a", 0, "length greater than or equal to 2"},
		{"bad name!", 0, "regular expression"},
		{strings.Repeat("x", 65), 0, "less than or equal to 64"},
	} {
		_, err := assume(client, srcOp, c.session, c.secs)
		if msg := sdkWantErr(t, err, "ValidationError", 400); !strings.Contains(msg, c.what) {
			t.Errorf("session %q, %d s: message %q, want it to say %q", c.session, c.secs, msg, c.what)
		}
		noSecret(err)
	}

	tokNoSecrets(t, "the log", logs(), base.SecretAccessKey, base.SessionToken)
	// In bounds: the session lasts DurationSeconds, and is the role's.
	start := time.Now()
	out, err := assume(client, srcOp, "in-bounds", 900)
	sdkNoErr(t, err, "AssumeRole for 900 s")
	if exp := aws.ToTime(out.Credentials.Expiration); exp.Before(start.Add(899*time.Second)) || exp.After(time.Now().Add(901*time.Second)) {
		t.Errorf("900 s session expires at %v (asked at %v)", exp, start)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::111111111111:assumed-role/ShuffleOperator/in-bounds" {
		t.Errorf("AssumedRoleUser %s", got)
	}
	who, err := sts.NewFromConfig(aws.Config{Region: env.Region(), BaseEndpoint: aws.String(env.URL), Credentials: tokStatic(aws.Credentials{
		AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(out.Credentials.SessionToken)})}).GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
	sdkNoErr(t, err, "GetCallerIdentity with the session")
	if aws.ToString(who.Arn) != aws.ToString(out.AssumedRoleUser.Arn) || aws.ToString(who.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
		t.Errorf("the session is %s (%s), AssumeRole said %s (%s)", aws.ToString(who.Arn), aws.ToString(who.UserId),
			aws.ToString(out.AssumedRoleUser.Arn), aws.ToString(out.AssumedRoleUser.AssumedRoleId))
	}
}
