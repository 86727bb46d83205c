package awsclient

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// FastListing is an option for backup.New and backup.NewFromConfig,
// counting its pages in s (nil: not counted). It
// decodes the successful responses of ListRecoveryPointsByBackupVault,
// the one call an inventory makes a thousand times per million
// recovery points, with a decoder written for that one response shape
// (listpage_decode.go, _build.go, _tokens.go) instead of the SDK's schema-driven one, which
// spends most of a cold plan's decoding time in generic member lookups
// and one allocation per field.
//
// The option swaps the client's Protocol for a wrapper; nothing else
// changes. Every other operation, every error response, and every page
// the decoder does not accept as it stands (a null, a duplicate member,
// an escaped member name, malformed JSON) goes to the SDK's own
// protocol with the same bytes, so what a caller gets is what the SDK
// alone would give; tests compare the two on generated and emulator
// pages.
//
// One difference is not in the values: the strings of one recovery
// point share one allocation. Code that keeps a few of them for long
// (as map keys, say) should keep copies (strings.Clone), or it keeps
// every field of the RP alive.
func (s *ListingStats) FastListing(o *backup.Options) {
	if o.Protocol == nil {
		return
	}
	if _, ok := o.Protocol.(*listProtocol); ok {
		return
	}
	o.Protocol = &listProtocol{ClientProtocol: o.Protocol, stats: s}
}

type listProtocol struct {
	smithyhttp.ClientProtocol
	stats *ListingStats // nil: not counted
}

var (
	bodyPool    = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	decoderPool = sync.Pool{New: func() any { return new(pageDecoder) }}
)

// DeserializeResponse implements smithyhttp.ClientProtocol.
func (p *listProtocol) DeserializeResponse(ctx context.Context, op *smithy.OperationSchema, types *smithy.TypeRegistry, resp *smithyhttp.Response, out smithy.Deserializable) error {
	o, ok := out.(*backup.ListRecoveryPointsByBackupVaultOutput)
	if !ok || resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return p.ClientProtocol.DeserializeResponse(ctx, op, types, resp, out)
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	defer bodyPool.Put(buf)
	buf.Reset()
	if resp.ContentLength > 0 && resp.ContentLength < 64<<20 {
		buf.Grow(int(resp.ContentLength))
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return &smithy.DeserializationError{Err: err}
	}
	d := decoderPool.Get().(*pageDecoder)
	ok = d.decode(buf.Bytes(), o)
	decoderPool.Put(d)
	p.stats.count(ok)
	if ok {
		return nil
	}
	*o = backup.ListRecoveryPointsByBackupVaultOutput{}
	r := *resp.Response
	r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	return p.ClientProtocol.DeserializeResponse(ctx, op, types, &smithyhttp.Response{Response: &r}, out)
}
