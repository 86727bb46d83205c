package testenvtest

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/backup"
)

// ClockSigner signs requests with its own clock instead of the SDK's:
// a client whose clock is skewed, or one that follows an emulator whose
// Options.Now a test moves (the emulator checks a request's time
// against its own).
type ClockSigner struct {
	Inner *v4.Signer
	Now   func() time.Time
}

func (s ClockSigner) SignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) error {
	return s.Inner.SignHTTP(ctx, creds, r, payloadHash, service, region, s.Now(), optFns...)
}

// SignWith makes a Backup client sign with now (ClockSigner).
func SignWith(now func() time.Time) func(*backup.Options) {
	return func(o *backup.Options) { o.HTTPSignerV4 = ClockSigner{Inner: v4.NewSigner(), Now: now} }
}
