package inbox

import "github.com/google/uuid"

// externalNamespace derives a source id from the other system's id of a document.
var externalNamespace = uuid.MustParse("7b1f4e2a-9c3d-5e8f-a0b1-c2d3e4f5a6b7")

// ExternalSource is the source id of a document of the fund's other systems (KindExternal) published into member's
// inbox under externalID, the other system's id of it. `dossier admin publish-document` and the integration
// consumer of the documents topic both derive it this way, so the same document published by either records
// nothing the second time.
func ExternalSource(member uuid.UUID, externalID string) uuid.UUID {
	return uuid.NewSHA1(externalNamespace, append(member[:len(member):len(member)], externalID...))
}
