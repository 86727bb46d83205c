package testenv_test

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

// sdkCallAll makes one cheap call to each service with cfg and returns
// the three errors (Backup, STS, IAM).
func sdkCallAll(cfg aws.Config) (backupErr, stsErr, iamErr error) {
	_, backupErr = backup.NewFromConfig(cfg).ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	_, stsErr = sts.NewFromConfig(cfg).GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
	_, iamErr = iam.NewFromConfig(cfg).GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("ShuffleOperator")})
	return
}

func TestSDKSignatureTampered(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	cfg := env.Config(t, testenv.ProfileDestination)
	tamper := func(edit func(r *http.Request, body []byte) []byte) *sdkBodyTamper {
		return &sdkBodyTamper{inner: cfg.HTTPClient, edit: edit}
	}
	clean := backup.NewFromConfig(cfg)

	// A body changed after signing (same length, so only the payload hash differs).
	tb := tamper(func(_ *http.Request, b []byte) []byte {
		return bytes.ReplaceAll(b, []byte("sdk-tamper-a"), []byte("sdk-tamper-b"))
	})
	c := backup.NewFromConfig(cfg, func(o *backup.Options) { o.HTTPClient = tb })
	_, err := c.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-tampered"), BackupVaultTags: map[string]string{"k": "sdk-tamper-a"}})
	msg := sdkWantErr(t, err, "InvalidSignatureException", 403)
	if !strings.Contains(msg, "signature") {
		t.Errorf("message %q", msg)
	}
	if tb.seen != 1 {
		t.Fatalf("the tampering client saw %d requests", tb.seen)
	}
	_, err = clean.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("sdk-tampered")})
	sdkWantTyped[*types.ResourceNotFoundException](t, err, 400)
	// Untampered, the same call works: the tampering is what failed it.
	tb.edit = func(_ *http.Request, b []byte) []byte { return b }
	_, err = c.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-tampered"), BackupVaultTags: map[string]string{"k": "sdk-tamper-a"}})
	sdkNoErr(t, err, "CreateBackupVault through the pass-through client")

	// A query parameter, the path and a signed header changed after signing.
	for name, edit := range map[string]func(r *http.Request, b []byte) []byte{
		"query": func(r *http.Request, b []byte) []byte {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "maxResults=3", "maxResults=4", 1)
			return b
		},
		"path": func(r *http.Request, b []byte) []byte {
			r.URL.Path = strings.Replace(r.URL.Path, "prod-rds-monthly", "prod-rds-monthlx", 1)
			r.URL.RawPath = ""
			return b
		},
		"signed header": func(r *http.Request, b []byte) []byte {
			r.Header.Set("Amz-Sdk-Invocation-Id", "00000000-0000-4000-8000-000000000000")
			return b
		},
	} {
		tc := backup.NewFromConfig(cfg, func(o *backup.Options) { o.HTTPClient = tamper(edit) })
		if name == "query" {
			_, err = tc.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{MaxResults: aws.Int32(3)})
		} else {
			_, err = tc.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("prod-rds-monthly")})
		}
		if err == nil {
			t.Errorf("tampered %s: call succeeded", name)
			continue
		}
		sdkWantErr(t, err, "InvalidSignatureException", 403)
	}
	// A header the client did not sign may change freely.
	extra := backup.NewFromConfig(cfg, func(o *backup.Options) {
		o.HTTPClient = tamper(func(r *http.Request, b []byte) []byte { r.Header.Set("X-Unsigned-Extra", "yes"); return b })
	})
	_, err = extra.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("prod-rds-monthly")})
	sdkNoErr(t, err, "a request with an unsigned extra header")

	// STS and IAM: the form body changed after signing.
	stsC := sts.NewFromConfig(cfg, func(o *sts.Options) {
		o.HTTPClient = tamper(func(_ *http.Request, b []byte) []byte {
			return bytes.Replace(b, []byte("Version=2011-06-15"), []byte("Version=2011-06-16"), 1)
		})
	})
	_, err = stsC.GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
	sdkWantErr(t, err, "SignatureDoesNotMatch", 403)
	iamC := iam.NewFromConfig(cfg, func(o *iam.Options) {
		o.HTTPClient = tamper(func(_ *http.Request, b []byte) []byte {
			return bytes.Replace(b, []byte("RoleName=ShuffleOperator"), []byte("RoleName=ShuffleOperatoX"), 1)
		})
	})
	_, err = iamC.GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("ShuffleOperator")})
	sdkWantErr(t, err, "SignatureDoesNotMatch", 403)
}

func TestSDKSignatureWrongSecretAndUnknownKey(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	good, ok := env.Current(testenv.ProfileSource)
	if !ok || !strings.HasPrefix(good.AccessKeyID, "AKIA") || good.SessionToken != "" {
		t.Fatalf("long-lived source credentials = %+v", good)
	}

	cfg := env.Config(t, testenv.ProfileSource)
	bErr, sErr, iErr := sdkCallAll(cfg)
	if bErr != nil || sErr != nil || iErr != nil {
		t.Fatalf("right credentials: %v / %v / %v", bErr, sErr, iErr)
	}

	// Right key id, wrong secret.
	wrong := cfg.Copy()
	wrong.Credentials = credentials.NewStaticCredentialsProvider(good.AccessKeyID, strings.ToLower(good.SecretAccessKey)+"x", "")
	bErr, sErr, iErr = sdkCallAll(wrong)
	sdkWantErr(t, bErr, "InvalidSignatureException", 403)
	sdkWantErr(t, sErr, "SignatureDoesNotMatch", 403)
	sdkWantErr(t, iErr, "SignatureDoesNotMatch", 403)

	// A key the emulator never issued.
	unknown := cfg.Copy()
	unknown.Credentials = credentials.NewStaticCredentialsProvider("AKIAUNKNOWNKEY000000", good.SecretAccessKey, "")
	bErr, sErr, iErr = sdkCallAll(unknown)
	sdkWantErr(t, bErr, "UnrecognizedClientException", 403)
	sdkWantErr(t, sErr, "InvalidClientTokenId", 403)
	sdkWantErr(t, iErr, "InvalidClientTokenId", 403)

	// Another profile's secret with this key id.
	other, _ := env.Current(testenv.ProfileDestination)
	mixed := cfg.Copy()
	mixed.Credentials = credentials.NewStaticCredentialsProvider(good.AccessKeyID, other.SecretAccessKey, "")
	bErr, _, _ = sdkCallAll(mixed)
	sdkWantErr(t, bErr, "InvalidSignatureException", 403)
}

func TestSDKSessionTokens(t *testing.T) {
	clk := &sdkRunningClock{}
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1, TokenTTL: 2 * time.Minute, Now: clk.Now})
	env.SetRotation(false)
	cur, _ := env.Current(testenv.ProfileSource)
	if !strings.HasPrefix(cur.AccessKeyID, "ASIA") || cur.SessionToken == "" || cur.Expires.IsZero() {
		t.Fatalf("session credentials = %+v", cur)
	}
	if d := cur.Expires.Sub(clk.Now()); d > 2*time.Minute || d < 2*time.Minute-2*time.Second {
		t.Errorf("credentials expire in %v, want the 2m TTL", d)
	}
	if exp := sdkCredFile(t, env)["source"]["x_security_token_expires"]; exp != cur.Expires.UTC().Format(time.RFC3339) {
		t.Errorf("x_security_token_expires = %q, want %s", exp, cur.Expires.UTC().Format(time.RFC3339))
	}

	cfg := env.Config(t, testenv.ProfileSource)
	bErr, sErr, iErr := sdkCallAll(cfg)
	if bErr != nil || sErr != nil || iErr != nil {
		t.Fatalf("fresh session credentials: %v / %v / %v", bErr, sErr, iErr)
	}

	// Wrong or missing session token with a valid key.
	for name, tok := range map[string]string{"wrong token": cur.SessionToken[:len(cur.SessionToken)-4] + "AAAA", "no token": ""} {
		c := cfg.Copy()
		c.Credentials = credentials.NewStaticCredentialsProvider(cur.AccessKeyID, cur.SecretAccessKey, tok)
		bErr, sErr, iErr := sdkCallAll(c)
		if bErr == nil {
			t.Fatalf("%s: call succeeded", name)
		}
		sdkWantErr(t, bErr, "UnrecognizedClientException", 403)
		sdkWantErr(t, sErr, "InvalidClientTokenId", 403)
		sdkWantErr(t, iErr, "InvalidClientTokenId", 403)
	}

	// The token lapses while rotation is off (the operator is asleep).
	clk.Advance(2*time.Minute + time.Second)
	bErr, sErr, iErr = sdkCallAll(cfg)
	if msg := sdkWantErr(t, bErr, "ExpiredTokenException", 403); !strings.Contains(msg, "expired") {
		t.Errorf("ExpiredTokenException message %q", msg)
	}
	sdkWantErr(t, sErr, "ExpiredToken", 403)
	sdkWantErr(t, iErr, "ExpiredToken", 403)
	// Every profile's token lapsed.
	_, err := sdkBackup(t, env, testenv.ProfileDestination).ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkWantErr(t, err, "ExpiredTokenException", 403)

	// A new token, through the rewritten file, works; the old one stays expired.
	if err := env.Rotate(); err != nil {
		t.Fatal(err)
	}
	fresh := env.Config(t, testenv.ProfileSource)
	bErr, sErr, iErr = sdkCallAll(fresh)
	if bErr != nil || sErr != nil || iErr != nil {
		t.Fatalf("after Rotate: %v / %v / %v", bErr, sErr, iErr)
	}
	bErr, _, _ = sdkCallAll(cfg)
	sdkWantErr(t, bErr, "ExpiredTokenException", 403)
}

// sdkCredFile parses the written aws/credentials into profile -> key -> value.
func sdkCredFile(t testing.TB, env *testenvtest.Env) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(env.CredentialsPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	var cur map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			cur = map[string]string{}
			out[strings.Trim(line, "[]")] = cur
		default:
			k, v, _ := strings.Cut(line, "=")
			if cur != nil {
				cur[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

func TestSDKTokenRotation(t *testing.T) {
	clk := newSDKClock()
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1, TokenTTL: 3 * time.Second, Now: clk.Now})
	if !env.Rotating() {
		t.Fatal("rotation is off at start")
	}
	first := sdkCredFile(t, env)
	for _, p := range testenv.ProfileNames() {
		if first[p]["aws_session_token"] == "" || first[p]["x_security_token_expires"] == "" {
			t.Fatalf("profile %s in the credentials file: %v", p, first[p])
		}
	}
	old, _ := env.Current(testenv.ProfileSource)
	if first["source"]["aws_access_key_id"] != old.AccessKeyID {
		t.Fatalf("file key %s, current key %s", first["source"]["aws_access_key_id"], old.AccessKeyID)
	}
	oldCfg := env.Config(t, testenv.ProfileSource)
	oldClient := backup.NewFromConfig(oldCfg)
	_, err := oldClient.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "call with the first credentials")

	// Half a second before expiry the refresher rewrites the file.
	clk.Advance(old.Expires.Sub(clk.Now()) - 500*time.Millisecond)
	waitRewrite := func(prev string) map[string]map[string]string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			f := sdkCredFile(t, env)
			if k := f["source"]["aws_access_key_id"]; k != "" && k != prev {
				return f
			}
			if time.Now().After(deadline) {
				t.Fatalf("the credentials file was not rewritten within 5s (key still %s)", prev)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	second := waitRewrite(old.AccessKeyID)
	newExp, err := time.Parse(time.RFC3339, second["source"]["x_security_token_expires"])
	if err != nil || !newExp.After(old.Expires) {
		t.Fatalf("new x_security_token_expires %q (%v), old expiry %v", second["source"]["x_security_token_expires"], err, old.Expires)
	}
	for _, p := range testenv.ProfileNames() {
		if second[p]["aws_access_key_id"] == first[p]["aws_access_key_id"] {
			t.Errorf("profile %s was not rotated", p)
		}
	}
	newClient := sdkBackup(t, env, testenv.ProfileSource)
	_, err = newClient.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "call with the rotated credentials")
	// Old keys work until they expire...
	_, err = oldClient.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "call with the old credentials before their expiry")
	// ...and not after.
	clk.Advance(600 * time.Millisecond)
	_, err = oldClient.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkWantErr(t, err, "ExpiredTokenException", 403)
	_, err = newClient.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "call with the rotated credentials after the old expiry")
	_, err = sts.NewFromConfig(oldCfg).GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
	sdkWantErr(t, err, "ExpiredToken", 403)

	// With rotation off, the file is left alone even when renewal is due.
	env.SetRotation(false)
	if env.Rotating() {
		t.Fatal("Rotating() after SetRotation(false)")
	}
	cur, _ := env.Current(testenv.ProfileSource)
	clk.Advance(cur.Expires.Sub(clk.Now()) - 300*time.Millisecond)
	time.Sleep(500 * time.Millisecond) // several rotation ticks
	if k := sdkCredFile(t, env)["source"]["aws_access_key_id"]; k != cur.AccessKeyID {
		t.Fatalf("the file was rotated while rotation was off (%s -> %s)", cur.AccessKeyID, k)
	}
	env.SetRotation(true)
	third := waitRewrite(cur.AccessKeyID)
	if third["source"]["aws_session_token"] == second["source"]["aws_session_token"] {
		t.Error("the rotated session token did not change")
	}
}

func TestSDKClockSkew(t *testing.T) {
	t.Run("server ahead", func(t *testing.T) {
		clk := &sdkRunningClock{}
		clk.Advance(20 * time.Minute)
		env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1, Now: clk.Now})
		cfg := env.Config(t, testenv.ProfileSource)
		bc := backup.NewFromConfig(cfg)
		_, err := bc.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
		if msg := sdkWantErr(t, err, "InvalidSignatureException", 403); !strings.Contains(msg, "Signature expired") {
			t.Errorf("skew message %q", msg)
		}
		sc := sts.NewFromConfig(cfg)
		_, err = sc.GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
		if msg := sdkWantErr(t, err, "SignatureDoesNotMatch", 403); !strings.Contains(msg, "Signature expired") {
			t.Errorf("STS skew message %q", msg)
		}
		_, err = iam.NewFromConfig(cfg).GetRole(sdkCtx, &iam.GetRoleInput{RoleName: aws.String("ShuffleOperator")})
		sdkWantErr(t, err, "SignatureDoesNotMatch", 403)
		// The response Date carries the server clock, so the SDK's clock
		// skew correction heals the next call of the same client.
		_, err = bc.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
		sdkNoErr(t, err, "second call after the SDK learnt the skew")
		_, err = sc.GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
		sdkNoErr(t, err, "second STS call after the SDK learnt the skew")
	})
	t.Run("within 15 minutes", func(t *testing.T) {
		clk := &sdkRunningClock{}
		clk.Advance(10 * time.Minute)
		env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1, Now: clk.Now})
		bErr, sErr, iErr := sdkCallAll(env.Config(t, testenv.ProfileSource))
		if bErr != nil || sErr != nil || iErr != nil {
			t.Fatalf("10 minutes of skew: %v / %v / %v", bErr, sErr, iErr)
		}
	})
	t.Run("client skewed", func(t *testing.T) {
		env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
		for _, tc := range []struct {
			skew time.Duration
			msg  string
		}{{-20 * time.Minute, "Signature expired"}, {20 * time.Minute, "Signature not yet current"}} {
			now := func() time.Time { return time.Now().Add(tc.skew) }
			c := sdkBackup(t, env, testenv.ProfileSource, sdkSignWith(now), func(o *backup.Options) { o.DisableClockSkewCorrection = true })
			_, err := c.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
			if msg := sdkWantErr(t, err, "InvalidSignatureException", 403); !strings.Contains(msg, tc.msg) {
				t.Errorf("client skew %v: message %q, want %q", tc.skew, msg, tc.msg)
			}
			s := sdkSTS(t, env, testenv.ProfileSource, func(o *sts.Options) {
				o.HTTPSignerV4 = testenvtest.ClockSigner{Inner: sdkV4(), Now: now}
			})
			_, err = s.GetCallerIdentity(sdkCtx, &sts.GetCallerIdentityInput{})
			sdkWantErr(t, err, "SignatureDoesNotMatch", 403)
		}
	})
}

func TestSDKAuthorization(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 300, CopySpeed: 1e6})
	all := sdkAllSourceRPs(t, env)
	rp := sdkPick(t, all, 1, sdkCopyable)[0]
	dest := "arn:aws:backup:us-east-1:222222222222:backup-vault:prod-rds-monthly"

	ro := sdkBackup(t, env, testenv.ProfileSourceReadOnly)
	_, err := ro.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "source-readonly ListBackupVaults")
	_, err = sdkStartCopy(ro, rp, dest)
	msg := sdkWantErr(t, err, "AccessDeniedException", 403)
	if !strings.Contains(msg, "backup:StartCopyJob") || !strings.Contains(msg, "assumed-role/ShuffleReadOnly/") {
		t.Errorf("AccessDenied message %q should name the action and the caller", msg)
	}

	// PassRole of a role the policy does not name.
	src := sdkBackup(t, env, testenv.ProfileSource)
	_, err = sdkStartCopy(src, rp, dest, func(in *backup.StartCopyJobInput) {
		in.IamRoleArn = aws.String("arn:aws:iam::111111111111:role/SomeOtherRole")
	})
	if msg := sdkWantErr(t, err, "AccessDeniedException", 403); !strings.Contains(msg, "iam:PassRole") {
		t.Errorf("PassRole denial message %q", msg)
	}
	if n := env.Counters().JobsCreated(rp.Arn(), dest); n != 0 {
		t.Fatalf("denied calls created %d jobs", n)
	}

	// destination-nolock: vaults yes, locks no (explicit deny).
	nl := sdkBackup(t, env, testenv.ProfileDestinationNoLock)
	_, err = nl.CreateBackupVault(sdkCtx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("sdk-nolock")})
	sdkNoErr(t, err, "destination-nolock CreateBackupVault")
	_, err = nl.PutBackupVaultLockConfiguration(sdkCtx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: aws.String("sdk-nolock"), MinRetentionDays: aws.Int64(7)})
	if msg := sdkWantErr(t, err, "AccessDeniedException", 403); !strings.Contains(msg, "explicit deny") {
		t.Errorf("explicit deny message %q", msg)
	}
	_, err = nl.DeleteBackupVaultLockConfiguration(sdkCtx, &backup.DeleteBackupVaultLockConfigurationInput{BackupVaultName: aws.String("sdk-nolock")})
	sdkWantErr(t, err, "AccessDeniedException", 403)
	d, err := nl.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("sdk-nolock")})
	sdkNoErr(t, err, "DescribeBackupVault")
	if aws.ToBool(d.Locked) {
		t.Fatal("a denied lock call locked the vault")
	}

	// Another account's vault through backupVaultAccountId.
	_, err = src.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("prod-rds-monthly"), BackupVaultAccountId: aws.String(testenv.DestinationAccount)})
	sdkWantErr(t, err, "AccessDeniedException", 403)

	// SetPolicies changes enforcement at once.
	sdkNoErr(t, env.SetPolicies(testenv.ProfileSourceReadOnly, []string{testenv.DefaultPolicies[testenv.ProfileSource]}), "SetPolicies")
	id, err := sdkStartCopy(ro, rp, dest)
	sdkNoErr(t, err, "source-readonly StartCopyJob with the operator policy")
	if j := sdkWaitJob(t, ro, id); j.State != types.CopyJobStateCompleted {
		t.Errorf("copy by the re-policied read-only profile: %s %s", j.State, aws.ToString(j.StatusMessage))
	}

	// Action wildcards, NotAction, Resource and NotResource.
	set := func(doc string) {
		t.Helper()
		sdkNoErr(t, env.SetPolicies(testenv.ProfileSourceReadOnly, []string{doc}), "SetPolicies")
	}
	describe := func(name string) error {
		_, err := ro.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})
		return err
	}
	list := func() error {
		_, err := ro.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
		return err
	}
	set(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"backup:List*","Resource":"*"}]}`)
	sdkWantErr(t, list(), "AccessDeniedException", 403)
	sdkNoErr(t, describe("Default"), "NotAction allows DescribeBackupVault")
	set(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:Describe*","Resource":"arn:aws:backup:us-east-1:111111111111:backup-vault:prod-*"}]}`)
	sdkNoErr(t, describe("prod-ebs-daily"), "Resource wildcard match")
	sdkWantErr(t, describe("Default"), "AccessDeniedException", 403)
	set(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:*","NotResource":"arn:aws:backup:us-east-1:111111111111:backup-vault:Default"}]}`)
	sdkNoErr(t, describe("prod-ebs-daily"), "NotResource allows other vaults")
	sdkWantErr(t, describe("Default"), "AccessDeniedException", 403)
	set(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:*","Resource":"*"},{"Effect":"Deny","Action":"backup:DescribeBackupVault","Resource":"*"}]}`)
	sdkNoErr(t, list(), "allowed by backup:*")
	if msg := sdkWantErr(t, describe("Default"), "AccessDeniedException", 403); !strings.Contains(msg, "explicit deny") {
		t.Errorf("message %q", msg)
	}
	// No policy at all: everything is implicitly denied.
	set(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	sdkWantErr(t, list(), "AccessDeniedException", 403)

	// Bad SetPolicies input is refused with a clear error.
	if err := env.SetPolicies("no-such-profile", []string{testenv.DefaultPolicies[testenv.ProfileSource]}); err == nil || !strings.Contains(err.Error(), "no-such-profile") {
		t.Errorf("SetPolicies for an unknown profile: %v", err)
	}
	if err := env.SetPolicies(testenv.ProfileSource, []string{`{"Version":"2012-10-17"}`}); err == nil {
		t.Error("SetPolicies accepted a policy without statements")
	}
}

// sdkAPICode returns the error code of an API error, or "".
func sdkAPICode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestSDKLivePolicyChange changes policies while calls are in flight, as
// a test that revokes a permission mid-run does. Run with -race it also
// guards the emulator's locking.
func TestSDKLivePolicyChange(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: -1})
	c := sdkBackup(t, env, testenv.ProfileSource)
	allowA := testenv.DefaultPolicies[testenv.ProfileSource]
	allowB := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"backup:*","Resource":"*"}]}`
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if _, err := c.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 40 {
		doc := allowA
		if i%2 == 1 {
			doc = allowB
		}
		sdkNoErr(t, env.SetPolicies(testenv.ProfileSource, []string{doc}), "SetPolicies")
		time.Sleep(time.Millisecond)
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("a call failed while policies changed between two that allow it: %v", err)
		}
	}
	// A revoking change applies to the next call.
	sdkNoErr(t, env.SetPolicies(testenv.ProfileSource, []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"backup:List*","Resource":"*"}]}`}), "SetPolicies")
	_, err := c.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkWantErr(t, err, "AccessDeniedException", 403)
}

// TestSDKCreateVaultNeedsKMSAndMountCapsule: creating a vault needs
// backup-storage:MountCapsule, and with a customer-managed key each of
// the KMS permissions AWS documents, on that key.
func TestSDKCreateVaultNeedsKMSAndMountCapsule(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 10})
	dst := sdkBackup(t, env, testenv.ProfileDestination)
	key := "arn:aws:kms:us-east-1:222222222222:key/0bbef656-2c62-4bc5-a04c-4e2e502c0f43"
	create := func(name, key string) error {
		in := &backup.CreateBackupVaultInput{BackupVaultName: aws.String(name)}
		if key != "" {
			in.EncryptionKeyArn = aws.String(key)
		}
		_, err := dst.CreateBackupVault(sdkCtx, in)
		return err
	}
	sdkNoErr(t, create("with-cmk", key), "CreateBackupVault with the default destination policy")
	for _, missing := range append([]string{"backup-storage:MountCapsule"}, testenv.VaultKeyActions...) {
		var allowed []string
		for _, a := range append([]string{"backup:*", "backup-storage:MountCapsule"}, testenv.VaultKeyActions...) {
			if a != missing {
				allowed = append(allowed, `"`+a+`"`)
			}
		}
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[` + strings.Join(allowed, ",") + `],"Resource":"*"}]}`
		sdkNoErr(t, env.SetPolicies(testenv.ProfileDestination, []string{doc}), "SetPolicies")
		err := create("without-"+strings.NewReplacer(":", "-").Replace(missing), key)
		sdkWantErr(t, err, "AccessDeniedException", 403)
		if !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	// Without a key, only MountCapsule is needed beyond backup:*.
	sdkNoErr(t, env.SetPolicies(testenv.ProfileDestination, []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["backup:*","backup-storage:MountCapsule"],"Resource":"*"}]}`}), "SetPolicies")
	sdkNoErr(t, create("aws-key", ""), "CreateBackupVault without a key")
}
