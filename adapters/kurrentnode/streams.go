package kurrentnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// streamsService implements event_store.client.streams.Streams.
type streamsService struct {
	streams.UnimplementedStreamsServer
	node *Node
}

// Expected-version numbers KurrentDB puts in its trailers.
const (
	versionAny          = -2
	versionNoStream     = -1
	versionStreamExists = -4
)

// rpcError is a gRPC status with KurrentDB's trailers.
type rpcError struct {
	code     codes.Code
	msg      string
	trailers metadata.MD
}

func (e *rpcError) Error() string { return e.msg }

func invalidArgument(exception, msg string, kv ...string) *rpcError {
	md := metadata.Pairs(append([]string{"exception", exception}, kv...)...)
	return &rpcError{code: codes.InvalidArgument, msg: msg, trailers: md}
}

func streamDeletedStatus(stream string) *rpcError {
	return &rpcError{code: codes.FailedPrecondition, msg: fmt.Sprintf("Event stream '%s' is deleted.", stream),
		trailers: metadata.Pairs("exception", "stream-deleted", "stream-name", stream)}
}

// finish turns an error into the status the client receives, with trailers set on the call.
func finish(ctx context.Context, setTrailer func(metadata.MD), err error) error {
	if err == nil {
		return nil
	}
	var rpc *rpcError
	var deleted *streamDeletedError
	switch {
	case errors.As(err, &rpc):
	case errors.As(err, &deleted):
		rpc = streamDeletedStatus(deleted.stream)
	case errors.Is(err, errStoreClosed):
		rpc = &rpcError{code: codes.Unavailable, msg: "server is shutting down"}
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	default:
		if _, ok := status.FromError(err); ok {
			return err
		}
		rpc = &rpcError{code: codes.Unavailable, msg: err.Error()}
	}
	if rpc.trailers != nil && setTrailer != nil {
		setTrailer(rpc.trailers)
	}
	return status.Error(rpc.code, rpc.msg)
}

func expectationOf(rev uint64, noStream, any, exists bool) expectation {
	switch {
	case noStream:
		return expectation{kind: expectNoStream}
	case exists:
		return expectation{kind: expectStreamExists}
	case any:
		return expectation{kind: expectAny}
	default:
		return expectation{kind: expectRevision, rev: rev}
	}
}

func (e expectation) trailerValue() string {
	switch e.kind {
	case expectAny:
		return strconv.Itoa(versionAny)
	case expectNoStream:
		return strconv.Itoa(versionNoStream)
	case expectStreamExists:
		return strconv.Itoa(versionStreamExists)
	default:
		return strconv.FormatUint(e.rev, 10)
	}
}

// validStream rejects stream names no event can be written to.
func validStream(name string) error {
	switch {
	case name == "":
		return invalidArgument("invalid-argument", "Stream name must not be empty.")
	case name == "$all" || name == metaPrefix:
		return invalidArgument("invalid-argument", fmt.Sprintf("Stream name '%s' is reserved.", name))
	}
	return nil
}

// Append reads the whole request stream before answering (an early answer would hide the status from the
// client behind an EOF on its next Send), validates it, and submits it to the group-commit writer.
func (s *streamsService) Append(srv streams.Streams_AppendServer) error {
	ctx := srv.Context()
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	var bad error
	opts := first.GetOptions()
	if opts == nil {
		bad = invalidArgument("invalid-argument", "The first append message must carry the options.")
	}
	var events []proposedEvent
	size := 0
	for {
		msg, err := srv.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if bad != nil {
			continue
		}
		pm := msg.GetProposedMessage()
		if pm == nil {
			bad = invalidArgument("invalid-argument", "Append messages after the options must be proposed events.")
			continue
		}
		typ, ct := pm.GetMetadata()["type"], pm.GetMetadata()["content-type"]
		if typ == "" || ct == "" {
			bad = invalidArgument("missing-required-metadata-property",
				"Required metadata properties are missing: type and content-type must be set.",
				"required-metadata-properties", "type,content-type")
			continue
		}
		id, ok := uuidFromProto(pm.GetId())
		if !ok {
			bad = invalidArgument("invalid-argument", "Event id must be a valid UUID.")
			continue
		}
		evSize := len(typ) + len(pm.GetData()) + len(pm.GetCustomMetadata())
		if evSize > MaxEventSize {
			bad = invalidArgument("maximum-append-event-size-exceeded",
				fmt.Sprintf("Event size %d exceeds the maximum of %d bytes.", evSize, MaxEventSize),
				"maximum-append-event-size", strconv.Itoa(MaxEventSize))
			continue
		}
		if size += evSize; size > MaxAppendSize {
			bad = invalidArgument("maximum-append-size-exceeded",
				fmt.Sprintf("Maximum Append Size of %d Exceeded.", MaxAppendSize),
				"maximum-append-size", strconv.Itoa(MaxAppendSize))
			events = nil
			continue
		}
		events = append(events, proposedEvent{ID: id, Type: typ, JSON: ct == "application/json",
			Metadata: nonNil(pm.GetCustomMetadata()), Data: nonNil(pm.GetData())})
	}
	if bad != nil {
		return finish(ctx, srv.SetTrailer, bad)
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	if err := validStream(stream); err != nil {
		return finish(ctx, srv.SetTrailer, err)
	}
	req := &writeReq{op: opAppend, stream: stream, events: events, size: size + 64*len(events),
		expected: expectationOf(opts.GetRevision(), opts.GetNoStream() != nil, opts.GetAny() != nil, opts.GetStreamExists() != nil)}
	res, err := s.node.store.submit(req)
	if err != nil {
		return finish(ctx, srv.SetTrailer, err)
	}
	return srv.SendAndClose(appendResponse(res))
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func appendResponse(res writeResult) *streams.AppendResp {
	if w := res.wrong; w != nil {
		out := &streams.AppendResp_WrongExpectedVersion{}
		if w.current < 0 {
			out.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
			out.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
		} else {
			out.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(w.current)}
			out.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(w.current)}
		}
		switch w.expected.kind {
		case expectAny:
			out.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
			out.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
		case expectStreamExists:
			out.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
			out.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
		case expectNoStream:
			out.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
			// The 20.6 fields had no "no stream" case: KurrentDB reports it as revision -1.
			out.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: ^uint64(0)}
		default:
			out.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: w.expected.rev}
			out.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: w.expected.rev}
		}
		return &streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: out}}
	}
	ok := &streams.AppendResp_Success{}
	if res.revision < 0 {
		ok.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
	} else {
		ok.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: uint64(res.revision)}
	}
	if res.position > 0 {
		ok.PositionOption = &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{
			CommitPosition: res.position, PreparePosition: res.position}}
	} else {
		ok.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_Success_{Success: ok}}
}

// deleteLike runs a soft delete or a tombstone; wrong expected versions are errors here, not fields.
func (s *streamsService) deleteLike(ctx context.Context, op opKind, id *shared.StreamIdentifier, e expectation) (uint64, error) {
	stream := string(id.GetStreamName())
	setTrailer := func(md metadata.MD) { _ = grpc.SetTrailer(ctx, md) }
	if err := validStream(stream); err != nil {
		return 0, finish(ctx, setTrailer, err)
	}
	res, err := s.node.store.submit(&writeReq{op: op, stream: stream, expected: e, size: 256})
	if err != nil {
		return 0, finish(ctx, setTrailer, err)
	}
	if w := res.wrong; w != nil {
		return 0, finish(ctx, setTrailer, &rpcError{code: codes.FailedPrecondition,
			msg: fmt.Sprintf("Append failed due to WrongExpectedVersion. Stream: %s, Expected version: %s, Actual version: %d",
				stream, e.trailerValue(), w.current),
			trailers: metadata.Pairs("exception", "wrong-expected-version", "stream-name", stream,
				"expected-version", e.trailerValue(), "actual-version", strconv.FormatInt(w.current, 10))})
	}
	return res.position, nil
}

func (s *streamsService) Delete(ctx context.Context, req *streams.DeleteReq) (*streams.DeleteResp, error) {
	o := req.GetOptions()
	pos, err := s.deleteLike(ctx, opDelete, o.GetStreamIdentifier(),
		expectationOf(o.GetRevision(), o.GetNoStream() != nil, o.GetAny() != nil, o.GetStreamExists() != nil))
	if err != nil {
		return nil, err
	}
	return &streams.DeleteResp{PositionOption: &streams.DeleteResp_Position_{Position: &streams.DeleteResp_Position{
		CommitPosition: pos, PreparePosition: pos}}}, nil
}

func (s *streamsService) Tombstone(ctx context.Context, req *streams.TombstoneReq) (*streams.TombstoneResp, error) {
	o := req.GetOptions()
	pos, err := s.deleteLike(ctx, opTombstone, o.GetStreamIdentifier(),
		expectationOf(o.GetRevision(), o.GetNoStream() != nil, o.GetAny() != nil, o.GetStreamExists() != nil))
	if err != nil {
		return nil, err
	}
	return &streams.TombstoneResp{PositionOption: &streams.TombstoneResp_Position_{Position: &streams.TombstoneResp_Position{
		CommitPosition: pos, PreparePosition: pos}}}, nil
}

func protoUUID(id uuid.UUID) *shared.UUID {
	var msb, lsb uint64
	for i := 0; i < 8; i++ {
		msb = msb<<8 | uint64(id[i])
		lsb = lsb<<8 | uint64(id[8+i])
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: int64(msb), LeastSignificantBits: int64(lsb)}}}
}

func uuidFromProto(u *shared.UUID) (uuid.UUID, bool) {
	if st := u.GetStructured(); st != nil {
		var id uuid.UUID
		msb, lsb := uint64(st.MostSignificantBits), uint64(st.LeastSignificantBits)
		for i := 7; i >= 0; i-- {
			id[i], id[8+i] = byte(msb), byte(lsb)
			msb, lsb = msb>>8, lsb>>8
		}
		return id, true
	}
	id, err := uuid.Parse(u.GetString_())
	return id, err == nil
}
