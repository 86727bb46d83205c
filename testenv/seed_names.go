package testenv

import (
	"math/rand/v2"
	"strings"
)

// The seeded world's recovery-point ARNs, and the arenas that keep a
// million of them cheap for the GC.

// rpArn returns a new RP ARN for res.
func (g *seedGen) rpArn(res *seedResource) string {
	b := g.buf[:0]
	acctRegion := func(b []byte, svc string) []byte {
		b = append(b, "arn:aws:"...)
		b = append(b, svc...)
		b = append(b, ':')
		b = append(b, g.region...)
		b = append(b, ':')
		b = append(b, SourceAccount...)
		return append(b, ':')
	}
	switch res.typ {
	case TypeEBS:
		b = append(b, "arn:aws:ec2:"...)
		b = append(b, g.region...)
		b = append(b, "::snapshot/snap-"...)
		b = g.hex(b, 17)
	case TypeEC2:
		b = append(b, "arn:aws:ec2:"...)
		b = append(b, g.region...)
		b = append(b, "::image/ami-"...)
		b = g.hex(b, 17)
	case TypeRDS:
		b = acctRegion(b, "rds")
		b = append(b, "snapshot:awsbackup:job-"...)
		b = appendUUID(b, g.r)
	case TypeAurora:
		b = acctRegion(b, "rds")
		b = append(b, "cluster-snapshot:awsbackup:job-"...)
		b = appendUUID(b, g.r)
	case TypeS3, TypeEFS, TypeDynamoDB:
		b = acctRegion(b, "backup")
		b = append(b, "recovery-point:"...)
		b = appendUUID(b, g.r)
	case TypeFSx:
		b = acctRegion(b, "fsx")
		b = append(b, "backup/backup-"...)
		b = g.hex(b, 17)
	case TypeRedshift:
		b = acctRegion(b, "redshift")
		b = append(b, "snapshot:"...)
		b = append(b, res.name...)
		b = append(b, "/awsbackup:job-"...)
		b = appendUUID(b, g.r)
	}
	g.buf = b
	return g.str(b)
}

// str copies b into a shared string arena: many small strings share one
// allocation, which keeps a million ARNs cheap for the GC.
func (g *seedGen) str(b []byte) string {
	if g.arena == nil || g.arena.Cap()-g.arena.Len() < len(b) {
		g.arena = new(strings.Builder)
		g.arena.Grow(max(256<<10, len(b)))
	}
	start := g.arena.Len()
	g.arena.Write(b)
	return g.arena.String()[start:]
}

// int64p returns a pointer to a fresh int64 holding v, from a slab.
func (g *seedGen) int64p(v int64) *int64 {
	if len(g.lcBuf) == 0 {
		g.lcBuf = make([]int64, 8192)
	}
	p := &g.lcBuf[0]
	g.lcBuf = g.lcBuf[1:]
	*p = v
	return p
}

const hexDigits = "0123456789abcdef"

// hex appends n random lowercase hex digits.
func (g *seedGen) hex(b []byte, n int) []byte {
	for n > 0 {
		x := g.r.Uint64()
		for i := 0; i < 16 && n > 0; i++ {
			b = append(b, hexDigits[x&15])
			x >>= 4
			n--
		}
	}
	return b
}

// appendUUID appends a random version 4 UUID.
func appendUUID(b []byte, r *rand.Rand) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 4<<12   // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	put := func(b []byte, x uint64, n int) []byte {
		for i := n - 1; i >= 0; i-- {
			b = append(b, hexDigits[(x>>(4*uint(i)))&15])
		}
		return b
	}
	b = put(b, hi>>32, 8)
	b = append(b, '-')
	b = put(b, hi>>16, 4)
	b = append(b, '-')
	b = put(b, hi, 4)
	b = append(b, '-')
	b = put(b, lo>>48, 4)
	b = append(b, '-')
	return put(b, lo, 12)
}
