package failure

import "fmt"

// Op records that err happened in operation op ("command.Register"), in Error.Op, without classifying it: the kind,
// code and field of err's own chain stay what KindOf, CodeOf, FieldOf and errors.Is find. It returns nil when err is
// nil. It is the short form of Wrap(op, Internal, err), for the many places that only name their operation.
func Op(op string, err error) error {
	return Wrap(op, Internal, err)
}

// Opf is Op over fmt.Errorf(format, args...) (so %w works): an error of operation op with a detail of its own,
// classified by what %w wraps, or Internal.
func Opf(op, format string, args ...any) error {
	return Op(op, fmt.Errorf(format, args...))
}
