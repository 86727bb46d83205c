package luabind

import (
	"reflect"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// concatPeek lets budgetCtx see, before it runs, a `..` the VM is about
// to execute, and charge the string it builds to the memory budget.
// The allocation counter alone cannot stop `s = s .. s`: a string
// doubles per instruction, faster than any sampling, and a copy of
// hundreds of megabytes cannot be preempted, so on a busy machine the
// watchdog goroutine may not run until the process has gigabytes.
//
// gopher-lua exports neither the current call frame nor the registers,
// so their offsets are read by reflection once, and checked: if the
// layout is not the expected one (another gopher-lua version), peeking
// is off and the allocation counter and the watchdog remain.
var concatPeek = func() (p struct {
	ok                bool
	frame, reg        uintptr // in LState: currentFrame, reg
	fn, pc, localBase uintptr // in callFrame
	tailCall          uintptr // in callFrame
	array             uintptr // in registry
}) {
	lt := reflect.TypeOf(lua.LState{})
	cf, ok1 := lt.FieldByName("currentFrame")
	rg, ok2 := lt.FieldByName("reg")
	if !ok1 || !ok2 || cf.Type.Kind() != reflect.Pointer || rg.Type.Kind() != reflect.Pointer ||
		cf.Type.Elem().Kind() != reflect.Struct || rg.Type.Elem().Kind() != reflect.Struct {
		return p
	}
	fn, ok3 := cf.Type.Elem().FieldByName("Fn")
	pc, ok4 := cf.Type.Elem().FieldByName("Pc")
	lb, ok5 := cf.Type.Elem().FieldByName("LocalBase")
	arr, ok6 := rg.Type.Elem().FieldByName("array")
	tc, ok7 := cf.Type.Elem().FieldByName("TailCall")
	intType := reflect.TypeOf(0)
	if !ok3 || !ok4 || !ok5 || !ok6 || !ok7 || fn.Type != reflect.TypeOf((*lua.LFunction)(nil)) ||
		pc.Type != intType || lb.Type != intType || tc.Type != intType || arr.Type != reflect.TypeOf([]lua.LValue(nil)) {
		return p
	}
	p.ok, p.frame, p.reg, p.fn, p.pc, p.localBase, p.array = true, cf.Offset, rg.Offset, fn.Offset, pc.Offset, lb.Offset, arr.Offset
	p.tailCall = tc.Offset
	return p
}()

// concatBytes is the length of the string the instruction L is about
// to execute builds, if it is a `..` (OP_CONCAT), else 0. It must run
// on L's goroutine, inside the VM loop (budgetCtx.Done).
func concatBytes(L *lua.LState) int64 {
	p := &concatPeek
	if !p.ok {
		return 0
	}
	frame := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(L), p.frame))
	if frame == nil {
		return 0
	}
	fn := *(**lua.LFunction)(unsafe.Add(frame, p.fn))
	if fn == nil || fn.IsG || fn.Proto == nil {
		return 0
	}
	pc, code := *(*int)(unsafe.Add(frame, p.pc)), fn.Proto.Code
	if pc < 1 || pc > len(code) {
		return 0
	}
	inst := code[pc-1]
	if int(inst>>26) != lua.OP_CONCAT {
		return 0
	}
	base := *(*int)(unsafe.Add(frame, p.localBase))
	reg := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(L), p.reg))
	if reg == nil {
		return 0
	}
	regs := *(*[]lua.LValue)(unsafe.Add(reg, p.array))
	b, c := base+int(inst&0x1ff), base+int(inst>>9)&0x1ff
	var n int64
	for i := max(b, 0); i <= c && i < len(regs); i++ {
		switch v := regs[i].(type) {
		case lua.LString:
			n += int64(len(v))
		case lua.LNumber:
			n += 8
		}
	}
	return n
}

// maxTailCalls is how many tail calls a frame remembers.
const maxTailCalls = 64

// capTailCalls caps the tail calls L's current frame remembers. gopher-
// lua counts them only to print one "(tailcall)" line each in the
// traceback it builds when a call fails, which it then cuts to 20
// lines; but building it for a loop of `return f()` stopped after
// millions of calls took seconds and hundreds of MiB (11.7 s for a loop
// stopped at 1 s). It must run on L's goroutine, inside the VM loop.
func capTailCalls(L *lua.LState) {
	p := &concatPeek
	if !p.ok {
		return
	}
	frame := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(L), p.frame))
	if frame == nil {
		return
	}
	if tc := (*int)(unsafe.Add(frame, p.tailCall)); *tc > maxTailCalls {
		*tc = maxTailCalls
	}
}
