// Package event is the kernel shared by every aggregate, projection and reaction: stream identifiers, the metadata
// every event carries, explicit event definitions with their upcasters, the registry that encodes and decodes them,
// and the plain values the store hands out (Record, Envelope, Delivery) and takes in (Command, Commit).
//
// Events are plain structs with JSON tags. Each has an explicit, stable type name given by its aggregate package:
//
//	func Definitions() []event.Definition {
//		return []event.Definition{
//			event.Define[Registered]("MemberRegistered"),
//			event.Define[AddressChanged]("MemberAddressChanged", event.Version(2),
//				event.Upcast(1, addressChangedV1toV2)),
//		}
//	}
//
// main builds one Registry from the union of every package's Definitions. Names are never derived from Go type names
// and nothing registers itself in init(). Additive changes need no new version (decoding is a tolerant reader); a
// breaking change bumps Version and adds an Upcast from the previous version, or introduces a new type name that
// Replaces the old one. Stored events are never rewritten: upcasters run on every decode.
//
// Every field of an event says whether it is personal data: `personal:"yes"` (it identifies or describes a person:
// sealed under its data subject's key when a Sealer is set, and read as ErasedText once that key is destroyed) or
// `personal:"no"`. CheckClassification, run by a test of the binary over every definition, fails for a text-holding
// field with neither (see Sealer).
//
// This package imports only the standard library and github.com/google/uuid.
package event
