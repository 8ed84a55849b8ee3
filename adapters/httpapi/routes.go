package httpapi

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/msa-dossier/dossier/projections/accounts"
	"github.com/msa-dossier/dossier/projections/appointments"
	"github.com/msa-dossier/dossier/projections/auditstreams"
	"github.com/msa-dossier/dossier/projections/casefiles"
	"github.com/msa-dossier/dossier/projections/casequeues"
	"github.com/msa-dossier/dossier/projections/consultations"
	"github.com/msa-dossier/dossier/projections/conversations"
	"github.com/msa-dossier/dossier/projections/documentsubmissions"
	"github.com/msa-dossier/dossier/projections/memberaccesses"
	"github.com/msa-dossier/dossier/projections/memberdirectory"
	"github.com/msa-dossier/dossier/projections/memberdocuments"
	"github.com/msa-dossier/dossier/projections/memberrequests"
	"github.com/msa-dossier/dossier/projections/savedestimates"
	"github.com/msa-dossier/dossier/projections/staffdirectory"
)

// route is one served operation and what the OpenAPI document says about it. The metadata is also what guards it:
// mount wraps Handler in the session check Auth and StaffRoles declare, the Throttle and the consistency wait, so the
// rules a route documents are the rules it enforces, stated once.
type route struct {
	Method  string
	Path    string // net/http pattern syntax: /v1/things/{id}
	ID      string // OpenAPI operationId
	Tag     string
	Summary string
	// Handler is the bare operation. A handler behind a session finds its caller with principalOf(r.Context()); a
	// "member-optional" one asks optionalMember.
	Handler   http.HandlerFunc
	Responses map[int]string // status → description (errors use the ErrorBody schema)
	// Consistent reads accept X-Dossier-Min-Position / min_position and wait for the read models.
	Consistent bool
	// Reads names the read models (projection names) a Consistent read's handler queries: it waits for them only.
	// Leave it empty to wait for every read model (always right, slower on a busy server). A name left out here
	// breaks read-your-writes for that route, so list every read model the handler and its helpers query.
	Reads []string
	// Auth is who may call: "" (anyone), "member", "staff" (with one of StaffRoles), "session" (member or staff),
	// "member-optional" (anyone; a member session, when the request has one, lets the handler also act for the
	// member through optionalMember).
	Auth       string
	StaffRoles []string
	// Throttle, when set, limits the route per client address and overall (the endpoints open to anyone).
	Throttle *throttle
	// Request and Response are zero values of the body types, for the OpenAPI schemas (nil: no body).
	Request, Response any
	// Idempotent commands accept an Idempotency-Key header.
	Idempotent bool
	// Paging makes a GET a list route of the paging convention (paging.go): limit, cursor and filters parsed
	// before the handler and declared in /openapi.json, "next" in the body.
	Paging *paging
	// Bounded says why a GET whose body holds a list is not paged (the list is small by nature); declared in the
	// document as x-unpaged. A list response needs Paging or Bounded (TestOpenAPIContract).
	Bounded string
	// BodyLimit, when set, replaces the server's body limit for this route and marks its body as streamed: it is
	// never read whole in advance (no request fingerprint: the handler fingerprints what it reads itself).
	BodyLimit int64
}

// The values of route.Auth.
const (
	authNone           = ""
	authMember         = "member"
	authStaff          = "staff"
	authSession        = "session"
	authMemberOptional = "member-optional"
)

// mount returns the handler the mux serves for rt: its Handler behind its throttle, then the session check its
// Auth and StaffRoles declare, then the consistency wait of a Consistent read (outermost, as before: a read waits,
// then checks the session). Metadata that cannot be enforced as written is an error: an unknown Auth, a staff route
// without roles (nobody could call it), roles on a route that is not a staff one (they would be documented and not
// checked).
func (s *Server) mount(rt route) (http.Handler, error) {
	if rt.Handler == nil {
		return nil, fmt.Errorf("route %s %s: no handler", rt.Method, rt.Path)
	}
	if rt.Auth != authStaff && len(rt.StaffRoles) > 0 {
		return nil, fmt.Errorf("route %s %s: staff roles on a route whose auth is %q", rt.Method, rt.Path, rt.Auth)
	}
	next := http.HandlerFunc(s.fingerprinted(rt.Handler).ServeHTTP)
	if rt.BodyLimit > 0 {
		next = streamedBody(rt.BodyLimit, rt.Handler)
	}
	if rt.Idempotent {
		next = s.idempotencyKeyChecked(next)
	}
	if rt.Paging != nil {
		if err := rt.Paging.check(); err != nil {
			return nil, fmt.Errorf("route %s %s: %w", rt.Method, rt.Path, err)
		}
		next = s.paged(rt.Paging, next)
	}
	if rt.Throttle != nil {
		next = rt.Throttle.wrap(s, next)
	}
	var h http.Handler
	switch rt.Auth {
	case authNone:
		h = next
	case authMember:
		h = s.member(next)
	case authStaff:
		if len(rt.StaffRoles) == 0 {
			return nil, fmt.Errorf("route %s %s: a staff route without staff roles", rt.Method, rt.Path)
		}
		h = s.staff(rt.StaffRoles, next)
	case authSession:
		h = s.anySession(next)
	case authMemberOptional:
		h = s.optionalSession(next)
	default:
		return nil, fmt.Errorf("route %s %s: unknown auth %q", rt.Method, rt.Path, rt.Auth)
	}
	if rt.Consistent {
		h = s.consistent(h, rt.Reads...)
	} else if len(rt.Reads) > 0 {
		return nil, fmt.Errorf("route %s %s: Reads without Consistent", rt.Method, rt.Path)
	}
	return h, nil
}

// routes is the one list of every route Dossier serves.
func (s *Server) routes() []route {
	return []route{
		{Method: "GET", Path: "/healthz", ID: "healthz", Tag: "operations", Summary: "Liveness: the process serves HTTP.",
			Handler: s.healthz, Responses: map[int]string{200: "Alive."}},
		{Method: "GET", Path: "/readyz", ID: "readyz", Tag: "operations",
			Summary: "Readiness: event store and database reachable, projections caught up.",
			Handler: s.readyz, Responses: map[int]string{200: "Ready.", 503: "Not ready; the body lists each check."}},
		{Method: "GET", Path: "/metrics", ID: "metrics", Tag: "operations", Summary: "Prometheus metrics.",
			Handler:   promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{ErrorLog: nil}).ServeHTTP,
			Responses: map[int]string{200: "Metrics in the Prometheus text format."}},
		{Method: "GET", Path: "/openapi.json", ID: "openapi", Tag: "operations", Summary: "This API's OpenAPI 3.1 document.",
			Handler: s.openapi, Responses: map[int]string{200: "The OpenAPI document."}},

		// Member space: registration and activation.
		{Method: "POST", Path: "/v1/registrations", ID: "register", Tag: "registration", Idempotent: true,
			Summary: "Register with the NIR, its key, identity, email and optional mobile phone; an activation code is emailed at once. The answer is the same whether or not the NIR is known (no enumeration). Throttled.",
			Handler: s.register, Throttle: s.registrations, Request: registrationRequest{}, Response: registrationAccepted{},
			Responses: map[int]string{202: "Registration recorded.", 400: "Malformed request.", 422: "Invalid field.", 429: "Too many requests."}},
		{Method: "POST", Path: "/v1/registrations/{id}/code", ID: "resendActivationCode", Tag: "registration", Idempotent: true,
			Summary: "Send a new activation code (after a cooldown); the previous one stops working.",
			Handler: s.resendCode, Throttle: s.codes, Response: sentenceBody{},
			Responses: map[int]string{202: "A new code was sent if the registration is in progress.", 422: "Too soon, or the registration is over."}},
		{Method: "POST", Path: "/v1/registrations/{id}/activation", ID: "activate", Tag: "registration", Idempotent: true,
			Summary: "Activate the account with the emailed code and choose the password. Five wrong codes lock the registration.",
			Handler: s.activate, Throttle: s.codes, Request: activationRequest{}, Response: activationBody{},
			Responses: map[int]string{201: "Account opened.", 422: "Wrong or expired code, weak password, locked registration."}},

		// Sessions.
		{Method: "POST", Path: "/v1/sessions", ID: "login", Tag: "session", Summary: "Log in with the NIR (13 characters) and the password. Sets the session cookie and returns the same token for a Bearer header. Throttled; repeated failures lock the account for a while.",
			Handler: s.login, Throttle: s.logins, Request: loginRequest{}, Response: sessionBody{},
			Responses: map[int]string{201: "Logged in.", 401: "Wrong NIR or password, or an account temporarily locked (the same answer; its owner is told by mail).", 429: "Too many requests."}},
		{Method: "GET", Path: "/v1/session", ID: "currentSession", Tag: "session", Auth: "session",
			Summary: "Who is connected, and until when (idle and absolute expiry).",
			Handler: s.currentSession, Response: sessionBody{}, Responses: map[int]string{200: "The session.", 401: "Not connected."}},
		{Method: "DELETE", Path: "/v1/session", ID: "logout", Tag: "session", Auth: "session", Summary: "Log out: the session ends.",
			Handler: s.logout, Response: positionBody{}, Responses: map[int]string{200: "Logged out.", 401: "Not connected."}},

		// The member's own account.
		{Method: "GET", Path: "/v1/me", ID: "me", Tag: "account", Auth: "member", Consistent: true, Reads: []string{accounts.Name},
			Summary: "The connected member's account: identity, contact details, address, status, last login.",
			Handler: s.me, Response: accountBody{}, Responses: map[int]string{200: "The account.", 401: "Not connected."}},
		{Method: "PUT", Path: "/v1/me/address", ID: "changeAddress", Tag: "account", Auth: "member", Idempotent: true,
			Summary: "Change the postal address, from a given date.", Handler: s.changeAddress,
			Request: addressRequest{}, Response: positionBody{}, Responses: map[int]string{200: "Recorded.", 422: "Invalid field."}},
		{Method: "PUT", Path: "/v1/me/phone", ID: "changePhone", Tag: "account", Auth: "member", Idempotent: true,
			Summary: "Change (or remove, with an empty value) the mobile phone.", Handler: s.changePhone,
			Request: phoneRequest{}, Response: positionBody{}, Responses: map[int]string{200: "Recorded.", 422: "Invalid phone number."}},
		{Method: "PUT", Path: "/v1/me/email", ID: "requestEmailChange", Tag: "account", Auth: "member", Idempotent: true,
			Summary: "Ask to change the email: a code is sent to the new address; nothing changes until it is confirmed.",
			Handler: s.requestEmailChange, Request: emailRequest{}, Response: messageBody{},
			Responses: map[int]string{202: "Code sent.", 422: "Invalid email."}},
		{Method: "POST", Path: "/v1/me/email/confirmation", ID: "confirmEmailChange", Tag: "account", Auth: "member", Idempotent: true,
			Summary: "Confirm the new email with the code it received.", Handler: s.confirmEmailChange,
			Request: codeRequest{}, Response: positionBody{}, Responses: map[int]string{200: "Email changed.", 422: "Wrong or expired code."}},
		{Method: "GET", Path: "/v1/me/accesses", ID: "myAccesses", Tag: "account", Auth: "member", Consistent: true, Reads: []string{memberaccesses.Name},
			Summary: "Qui a consulté mon dossier: the openings of the member's data by the fund's staff, the newest first, by pages: when, the staff member's role and the purpose, never their name.",
			Handler: s.myAccesses, Response: accessesBody{}, Paging: &accessesPaging,
			Responses: map[int]string{200: "One page of the member's access log.", 401: "Not connected.", 403: "Not a member session.", 422: "Invalid limit or cursor."}},
		{Method: "PUT", Path: "/v1/me/password", ID: "changePassword", Tag: "account", Auth: "member", Idempotent: true,
			Summary: "Change the password (the current one is required); every other session ends.",
			Handler: s.changePassword, Request: passwordChangeRequest{}, Response: positionBody{},
			Responses: map[int]string{200: "Password changed.", 401: "Wrong current password.", 422: "Weak password."}},

		// Forgotten password.
		{Method: "POST", Path: "/v1/password-resets", ID: "requestPasswordReset", Tag: "password-reset", Idempotent: true,
			Summary: "Forgotten password: with the NIR and the account's email, a code is sent to that email. Same answer whatever the data (no enumeration). Throttled.",
			Handler: s.requestPasswordReset, Throttle: s.resets, Request: resetRequest{}, Response: resetAccepted{},
			Responses: map[int]string{202: "Recorded.", 429: "Too many requests."}},
		{Method: "POST", Path: "/v1/password-resets/{id}/completion", ID: "completePasswordReset", Tag: "password-reset", Idempotent: true,
			Summary: "Set a new password with the emailed code; every session of the member ends.",
			Handler: s.completePasswordReset, Throttle: s.codes, Request: activationRequest{}, Response: messageBody{},
			Responses: map[int]string{200: "Password changed.", 422: "Wrong or expired code, weak password."}},

		// Staff.
		{Method: "POST", Path: "/v1/staff/sessions", ID: "staffLogin", Tag: "staff", Summary: "Staff login: login, password and TOTP code. Throttled.",
			Handler: s.staffLogin, Throttle: s.logins, Request: staffLoginRequest{}, Response: sessionBody{},
			Responses: map[int]string{201: "Logged in.", 401: "Wrong login, password or code, or an account temporarily locked (the same answer).", 429: "Too many requests."}},
		{Method: "GET", Path: "/v1/staff/members", ID: "searchMembers", Tag: "staff", Auth: "staff", StaffRoles: staffRoles, Consistent: true, Reads: []string{memberdirectory.Name},
			Summary: "Member directory: search by NIR (13 or 15 characters, exact) or by name words (prefixes, accents and case ignored), query parameter q.",
			Handler: s.searchMembers, Response: directoryBody{}, Bounded: "A search, not a list: at most 50 members; a query matching more is refined, not paged.",
			Responses: map[int]string{200: "Matching members (at most 50).", 401: "Not connected.", 403: "Not staff."}},
		{Method: "GET", Path: "/v1/staff/members/{id}", ID: "openMember", Tag: "staff", Auth: "staff", StaffRoles: staffRoles, Consistent: true, Reads: []string{accounts.Name},
			Summary: "A member's data. Every opening is recorded (who, what, when) in the member's access log.",
			Handler: s.openMember, Response: accountBody{},
			Responses: map[int]string{200: "The member.", 401: "Not connected.", 403: "Not staff.", 404: "No such member."}},
		{Method: "PUT", Path: "/v1/staff/accounts/{id}/roles", ID: "changeStaffRoles", Tag: "staff", Auth: "staff",
			StaffRoles: adminOnly, Idempotent: true, Summary: "Replace a staff member's roles (administrators only): caseworker, supervisor, auditor, admin, and medical (the medical service, added to one of them). Applies at the staff member's next request. At least one administrator always remains: a change that would remove the last one is refused (staff.last_admin).",
			Handler: s.changeStaffRoles, Request: rolesRequest{}, Response: positionBody{},
			Responses: map[int]string{200: "Roles changed.", 403: "Not an administrator.", 404: "No such staff member.", 422: "Unknown role, or the change would leave no administrator (staff.last_admin)."}},

		{Method: "POST", Path: "/v1/staff/accounts/{id}/totp-reset", ID: "resetStaffTOTP", Tag: "staff", Auth: "staff",
			StaffRoles: adminOnly, Idempotent: true, Summary: "Reset a staff member's second factor, for a lost or replaced phone (administrators only): the old secret stops working, every session of the staff member ends, and the new secret (returned once, Cache-Control: no-store) is confirmed by its first code at the next login. The same Idempotency-Key returns the same secret.",
			Handler: s.resetStaffTOTP, Response: totpResetBody{},
			Responses: map[int]string{200: "Second factor reset; the new secret is in the body.", 403: "Not an administrator.", 404: "No such staff member."}},
		{Method: "PUT", Path: "/v1/staff/accounts/{id}/queues", ID: "assignStaffQueues", Tag: "staff", Auth: "staff",
			StaffRoles: adminOnly, Idempotent: true, Summary: "Set the queues a caseworker works (administrators only). A confidential queue (medical content) only for a member of the medical service (role medical).",
			Handler: s.assignStaffQueues, Request: queuesRequest{}, Response: positionBody{},
			Responses: map[int]string{200: "Queues set.", 403: "Not an administrator.", 404: "No such staff member.", 422: "Unknown queue, or a confidential queue for someone outside the medical service."}},
		{Method: "POST", Path: "/v1/staff/members/{id}/erasure", ID: "eraseMember", Tag: "staff", Auth: "staff",
			StaffRoles: adminOnly, Idempotent: true, Consistent: true, Reads: []string{memberrequests.Name}, Summary: "Erase a member's personal data (GDPR; administrators only): records MemberDataErased with the reason (member_request, retention_ended) and the ticket, and ends the member's sessions; the server then destroys the member's data keys, and every personal field reads \"données effacées\". Refused while a legal hold is in force (member.legal_hold) or a request of the member is open (member.open_requests, read from the requests read model: send the position of a request's last change as X-Dossier-Min-Position to count it). The same ticket again changes nothing.",
			Handler: s.eraseMember, Request: erasureRequest{}, Response: erasureBody{},
			Responses: map[int]string{200: "Erasure recorded.", 403: "Not an administrator.", 404: "No such member.", 422: "Unknown reason, invalid ticket, a legal hold, open requests, or already erased under another ticket."}},
		{Method: "POST", Path: "/v1/staff/members/{id}/legal-holds", ID: "placeLegalHold", Tag: "staff", Auth: "staff",
			StaffRoles: adminOnly, Idempotent: true, Summary: "Place a legal hold on a member's data (administrators only): no erasure until it is lifted. Reason: litigation, inspection or fraud_investigation.",
			Handler: s.placeLegalHold, Request: legalHoldRequest{}, Response: positionBody{},
			Responses: map[int]string{200: "Hold placed (or already in force).", 403: "Not an administrator.", 404: "No such member.", 422: "Invalid ticket or reason, or the member's data is erased."}},
		{Method: "DELETE", Path: "/v1/staff/members/{id}/legal-holds/{ticket}", ID: "liftLegalHold", Tag: "staff", Auth: "staff",
			StaffRoles: adminOnly, Idempotent: true, Summary: "Lift the legal hold of a ticket (administrators only).",
			Handler: s.liftLegalHold, Response: positionBody{},
			Responses: map[int]string{200: "Hold lifted.", 403: "Not an administrator.", 404: "No such member, or no hold of this ticket.", 422: "Invalid ticket, or the member's data is erased."}},

		// Services.
		{Method: "GET", Path: "/v1/catalog", ID: "catalog", Tag: "services",
			Summary: "The catalog of online services: groups, kinds, request forms, queues, handling times, silence rules, appeal routes, documents. Served with an ETag (If-None-Match gives 304).",
			Handler: s.serveCatalog, Response: catalogBody{}, Bounded: "The whole catalog in one document (tens of services), cached with its ETag.", Responses: map[int]string{200: "The current catalog.", 304: "Not modified."}},
		{Method: "POST", Path: "/v1/simulations/nsa-contributions", ID: "simulateNSAContributions", Tag: "services",
			Auth: "member-optional", Idempotent: true,
			Summary: "Estimer mes cotisations NSA: an indicative estimate from a declared income and status, open to anyone. Nothing is stored unless a connected member sends \"save\": true: the estimate is then kept as shown (lines, total, rates year) among the member's saved estimates, and the answer adds saved_id, saved_at and position. The same Idempotency-Key saves once and returns the estimate it saved.",
			Handler: s.simulateContributions, Request: simulationRequest{}, Response: simulationBody{},
			Responses: map[int]string{200: "The estimate, itemised; nothing stored.", 201: "The estimate, saved for the member.",
				401: "Saving without a valid member session.", 403: "Saving with a staff session.", 422: "Invalid income or status (each field named); nothing stored."}},
		{Method: "GET", Path: "/v1/simulations/nsa-contributions", ID: "listSavedNSAEstimates", Tag: "services", Auth: "member", Consistent: true, Reads: []string{savedestimates.Name},
			Summary: "The NSA contributions estimates the member saved, the most recent first, each as it was shown when saved (rates change every year).",
			Handler: s.listSavedEstimates, Response: savedEstimatesBody{}, Paging: &memberPaging,
			Responses: map[int]string{200: "The saved estimates.", 401: "Not connected."}},

		// Service requests: the member's side.
		{Method: "POST", Path: "/v1/requests", ID: "submitRequest", Tag: "requests", Auth: "member", Idempotent: true,
			Summary: "File a service request (a catalog service code and its form). Answers at once with the acknowledgement of receipt: reference, date received, the handling target, the last day of silence and what silence then means (no such day for a document delivered by right or a declaration), appeal routes, the service in charge (name, postal address, phone, email); also sent by email. Dates: *_on is the last day of a period (Europe/Paris); *_at is the instant it ends, 00:00 of the next day in Europe/Paris: silence is a decision from implicit_decision_at on. The same Idempotency-Key returns the same request.",
			Handler: s.submitRequest, Request: submitRequest{}, Response: acknowledgementBody{},
			Responses: map[int]string{201: "Request recorded and acknowledged.", 422: "Unknown service or invalid form (each field named)."}},
		{Method: "GET", Path: "/v1/requests", ID: "listRequests", Tag: "requests", Auth: "member", Consistent: true, Reads: []string{memberrequests.Name, memberdocuments.Name},
			Summary: "The member's requests, newest first, by pages, with their status, what is expected from them, the dates of the legal clock (implicit_decision_on, the last day of silence; implicit_decision_at, the instant it ends: 00:00 of the next day in Europe/Paris; while information is awaited, as of today), the service in charge, and the decisions (a rejection with its author, appeal routes and the deadline to seize the CRA).",
			Handler: s.listRequests, Response: requestsBody{}, Paging: &memberPaging, Responses: map[int]string{200: "The requests.", 401: "Not connected."}},
		{Method: "GET", Path: "/v1/requests/{id}", ID: "getRequest", Tag: "requests", Auth: "member", Consistent: true, Reads: []string{memberrequests.Name, casefiles.Name, documentsubmissions.Name, memberdocuments.Name},
			Summary: "One of the member's requests, with the form they submitted (with the labels of its catalog version) and its timeline: the steps the member is told about, with what was asked and their answers; never an internal note or who in the fund acted, except the decision's author (name and position, CRPA L212-1). A rejection carries its appeal routes and the deadline to seize the CRA (2 months from notification: the decision's date).",
			Handler: s.getRequest, Response: requestBody{}, Bounded: "One request: its timeline is its own steps (tens at most).",
			Responses: map[int]string{200: "The request.", 404: "No such request among the member's.", 503: "The case file is not built yet; retry."}},
		{Method: "POST", Path: "/v1/requests/{id}/withdrawal", ID: "withdrawRequest", Tag: "requests", Auth: "member", Idempotent: true,
			Summary: "Withdraw a request that is not decided yet.", Handler: s.withdrawRequest,
			Request: withdrawalRequest{}, Response: positionBody{}, Responses: map[int]string{200: "Withdrawn.", 404: "No such request.", 422: "Already closed."}},
		{Method: "POST", Path: "/v1/requests/{id}/information", ID: "provideInformation", Tag: "requests", Auth: "member", Idempotent: true,
			Summary: "Answer the fund's request for information: the legal clock runs again (CRPA L114-5: the whole period restarts from today where silence means acceptance; the suspension ends where it means rejection).", Handler: s.provideInformation,
			Request: informationAnswer{}, Response: positionBody{}, Responses: map[int]string{200: "Answer recorded.", 404: "No such request.", 422: "Nothing awaited, or too late."}},

		// Documents: the member's deposits ("Envoyer un document") and the intake (documents.go).
		{Method: "GET", Path: "/v1/document-lists", ID: "documentLists", Tag: "documents",
			Summary: "The subjects and document natures a deposit is checked against (versioned data), the counts allowed, the size limits in bytes (\"1 Mo\" is 1,048,576 bytes, per nature) and the medical service's postal address (medical documents are never deposited online).",
			Handler: s.documentLists, Response: documentListsBody{}, Bounded: "Versioned reference data in one document: the subjects and natures in force (tens).", Responses: map[int]string{200: "The lists and limits.", 503: "Deposits are not configured (document.unavailable)."}},
		{Method: "POST", Path: "/v1/document-submissions", ID: "submitDocuments", Tag: "documents", Auth: "member", Idempotent: true, BodyLimit: s.depositBodyLimit(),
			Summary: "Envoyer un document: one multipart/form-data request, first a part \"submission\" (JSON: subject, request_id when the subject needs one, attestation: true, documents: [{nature, person, reason}]), then each file as a part \"documents[i].files\" (1 to the configured number per document). Files are judged by their content: PDF (parsed; refused when encrypted or with scripts, automatic actions or embedded files), JPEG or PNG (fully decoded), 1 byte to the nature's limit (1 Mo = 1,048,576 bytes). A refusal names the document and the file; nothing is stored. The answer is the sending confirmation: the reference and every file with its size, type and SHA-256; the acknowledgement of receipt follows by email. A deposit answering an information request answers it (the legal clock starts again). Throttled per member. The same Idempotency-Key with the same content returns the same deposit.",
			Handler: s.submitDocuments, Request: depositRequest{}, Response: depositBody{},
			Responses: map[int]string{201: "Deposit recorded and registered.", 400: "Not a well-formed multipart deposit (document.malformed).", 404: "The request is not one of the member's.", 413: "The deposit is above the total size limit, declared or read (document.body_too_large).", 415: "Not a multipart/form-data body (document.multipart_required).", 422: "A refused file, document or form (each named).", 429: "Too many deposits.", 503: "Deposits are not configured (document.unavailable)."}},
		{Method: "GET", Path: "/v1/document-submissions", ID: "listDocumentSubmissions", Tag: "documents", Auth: "member", Consistent: true, Reads: []string{documentsubmissions.Name},
			Summary: "The member's deposits, the newest first, with their state, by pages.",
			Handler: s.listDeposits, Response: depositsBody{}, Paging: &memberPaging, Responses: map[int]string{200: "One page of deposits.", 401: "Not connected."}},
		{Method: "GET", Path: "/v1/document-submissions/{id}", ID: "getDocumentSubmission", Tag: "documents", Auth: "member", Consistent: true, Reads: []string{documentsubmissions.Name},
			Summary: "One of the member's deposits, with its documents and files.", Handler: s.getDeposit, Response: documentsubmissions.Deposit{}, Bounded: "One deposit: its documents (max_documents at most) and their files.",
			Responses: map[int]string{200: "The deposit.", 404: "No such deposit among the member's."}},
		{Method: "GET", Path: "/v1/document-intake", ID: "listDocumentIntake", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Consistent: true, Reads: []string{documentsubmissions.Name},
			Summary: "The intake queue: deposits of \"d'autres documents\" waiting for a caseworker to attach them to a case, the oldest first, by pages (no personal text).",
			Handler: s.listIntake, Response: intakeBody{}, Paging: &depositPaging, Responses: map[int]string{200: "The waiting deposits."}},
		{Method: "POST", Path: "/v1/document-intake/{id}/attachment", ID: "attachDocumentSubmission", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Idempotent: true,
			Summary: "Attach a deposit of the intake queue to a case of the same member, in a queue the caller works.", Handler: s.attachDeposit,
			Request: attachmentRequest{}, Response: positionBody{},
			Responses: map[int]string{200: "Attached.", 404: "No such deposit or case (or a case of another member).", 422: "Already in a case file."}},
		{Method: "POST", Path: "/v1/document-intake/{id}/case", ID: "openDocumentIntakeCase", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Idempotent: true, Consistent: true, Reads: []string{documentsubmissions.Name},
			Summary: "Open a new case for the member from a deposit of the intake queue: a request for a service of the current catalogue with its form (checked as a member's), filed on the member's behalf by the caller, acknowledged and queued in the service's queue, its legal clock running from the deposit's receipt, the deposit in its case file. A deposit opens one case: opening again answers that case. The deposit is found in the intake read model: send the position it was seen at (X-Dossier-Min-Position).", Handler: s.openIntakeCase,
			Request: intakeCaseRequest{}, Response: acknowledgementBody{},
			Responses: map[int]string{201: "The case opened (its acknowledgement of receipt).", 403: "A confidential (medical) queue outside the medical service.", 404: "No such deposit.", 422: "An unknown service, an invalid form, or a deposit already in a case file."}},
		{Method: "GET", Path: "/v1/cases/{id}/documents", ID: "caseDocuments", Tag: "casework", Auth: "staff", StaffRoles: caseReadRoles, Consistent: true, Reads: []string{casequeues.Name, documentsubmissions.Name},
			Summary: "The deposits in a case's file, the oldest first, by pages, with their documents and files. Each page is recorded in the member's access log (case.documents).",
			Handler: s.caseDocuments, Response: caseDocumentsBody{}, Paging: &depositPaging, Responses: map[int]string{200: "The deposits.", 404: "No such case."}},
		{Method: "GET", Path: "/v1/cases/{id}/documents/{submission}/{document}/{file}", ID: "caseDocumentFile", Tag: "casework", Auth: "staff", StaffRoles: caseReadRoles, Consistent: true, Reads: []string{casequeues.Name, documentsubmissions.Name},
			Summary: "One file of a deposit in a case's file (document and file numbered from 0): its content with its real type, nosniff, as an attachment. Every opening is recorded in the member's access log (case.document) before the content is read.",
			Handler: s.caseDocumentFile, Responses: map[int]string{200: "The file.", 404: "No such case, deposit or file."}},

		// The member's inbox ("Consulter un document"): the documents the fund publishes to the member (inbox.go).
		{Method: "GET", Path: "/v1/documents", ID: "listInboxDocuments", Tag: "documents", Auth: "member", Consistent: true, Reads: []string{memberdocuments.Name},
			Summary: "Consulter un document: the documents the fund published to the member (decision letters, payment attestations, documents of the fund's other systems), the newest first, by pages, with unread (how many were never opened). A document is notified at its first opening (opened_at, notified_at) or, never opened, deemed notified 15 days after it was made available (deemed_notified_at; deemed_notified true once recorded).",
			Handler: s.listInboxDocuments, Response: inboxBody{}, Paging: &memberPaging, Responses: map[int]string{200: "One page of documents.", 401: "Not connected."}},
		{Method: "GET", Path: "/v1/documents/{id}", ID: "getInboxDocument", Tag: "documents", Auth: "member", Consistent: true, Reads: []string{memberdocuments.Name},
			Summary: "One document of the member's inbox (reading it here is not opening it).", Handler: s.getInboxDocument, Response: memberdocuments.InboxDocument{},
			Responses: map[int]string{200: "The document.", 404: "No such document among the member's."}},
		{Method: "GET", Path: "/v1/documents/{id}/content", ID: "getInboxDocumentContent", Tag: "documents", Auth: "member", Consistent: true, Reads: []string{memberdocuments.Name},
			Summary: "The file of one of the member's documents: its real type, nosniff, as an attachment. The first opening is recorded (the notification date) before the file is sent; later openings record nothing.",
			Handler: s.inboxDocumentContent, Responses: map[int]string{200: "The file.", 404: "No such document among the member's.", 503: "The documents cannot be served now; retry."}},

		// Consultations: statements, payments and invoices recorded by the fund's other systems.
		{Method: "GET", Path: "/v1/daily-allowance-statements", ID: "listDailyAllowanceStatements", Tag: "consultations", Auth: "member", Consistent: true, Reads: []string{consultations.Name},
			Summary: "Consulter mes décomptes d'indemnités journalières: the member's daily-allowance statements.",
			Handler: s.listStatements, Response: statementsBody{}, Paging: &memberPaging, Responses: map[int]string{200: "The statements.", 401: "Not connected."}},
		{Method: "GET", Path: "/v1/payments", ID: "listPayments", Tag: "consultations", Auth: "member", Consistent: true, Reads: []string{consultations.Name},
			Summary: "Suivre mes paiements: the payments made to the member, the most recent first, by pages; and the payment attestations issued (whole, with every page: one per year asked).",
			Handler: s.listPayments, Response: paymentsBody{}, Paging: &memberPaging, Responses: map[int]string{200: "The payments.", 401: "Not connected."}},
		{Method: "POST", Path: "/v1/payment-attestations", ID: "requestPaymentAttestation", Tag: "consultations", Auth: "member", Idempotent: true,
			Summary: "Demander une attestation de paiement for a year: its issue is recorded (the document follows).",
			Handler: s.requestPaymentAttestation, Request: attestationRequest{}, Response: attestationBody{},
			Responses: map[int]string{201: "Attestation issued.", 422: "Invalid year."}},
		{Method: "GET", Path: "/v1/invoices", ID: "listInvoices", Tag: "consultations", Auth: "member", Consistent: true, Reads: []string{consultations.Name},
			Summary: "Régler mes factures: the member's invoices, paid or not.",
			Handler: s.listInvoices, Response: invoicesBody{}, Paging: &memberPaging, Responses: map[int]string{200: "The invoices.", 401: "Not connected."}},
		{Method: "POST", Path: "/v1/invoices/{invoice}/payment", ID: "payInvoice", Tag: "consultations", Auth: "member", Idempotent: true,
			Summary: "Pay one of the member's invoices in full. The same Idempotency-Key pays once; paying a paid invoice is refused.",
			Handler: s.payInvoice, Request: invoicePaymentRequest{}, Response: positionBody{},
			Responses: map[int]string{200: "Paid.", 404: "No such invoice among the member's.", 422: "Already paid, or an unknown payment method."}},

		// Caseworker queues and case work.
		{Method: "GET", Path: "/v1/queues", ID: "listQueues", Tag: "casework", Auth: "staff", StaffRoles: caseReadRoles, Consistent: true, Reads: []string{casequeues.Name},
			Summary: "The queues the caller sees (supervisors and auditors every queue, caseworkers their own; a confidential queue only the medical service's staff), with open cases, claimed ones, the oldest and the breaches of the handling target.",
			Handler: s.listQueues, Response: queuesBody{}, Bounded: "One entry per queue the caller sees (a handful).", Responses: map[int]string{200: "The queues.", 403: "Not a caseworker, supervisor or auditor."}},
		{Method: "GET", Path: "/v1/queues/{queue}/cases", ID: "listCases", Tag: "casework", Auth: "staff", StaffRoles: caseReadRoles, Consistent: true, Reads: []string{casequeues.Name, staffdirectory.Name},
			Summary: "A queue's open cases, earliest due first, by pages, with status, assignee, age in seconds, due date and breach flag.",
			Handler: s.listCases, Response: casesBody{}, Paging: &casesPaging, Responses: map[int]string{200: "The cases.", 403: "A queue the caller does not belong to, or a confidential queue outside the medical service.", 404: "No such queue."}},
		{Method: "POST", Path: "/v1/queues/{queue}/claim-next", ID: "claimNext", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Idempotent: true,
			Summary: "Claim the queue's unclaimed case that is due first. Answers with the case's new ETag (header, and revision in the body).", Handler: s.claimNext, Response: claimNextBody{},
			Responses: map[int]string{200: "Claimed; the ETag header is the case's new ETag.", 403: "A queue the caller does not belong to, or a confidential queue outside the medical service.", 404: "Nothing to claim, or no such queue."}},
		{Method: "GET", Path: "/v1/cases", ID: "myCases", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Consistent: true, Reads: []string{casequeues.Name, staffdirectory.Name},
			Summary: "My cases: the caller's own open cases across every queue, earliest due first, by pages (cases of queues the caller no longer sees are left out, so a page may hold fewer than the limit: only a null next ends the list).",
			Handler: s.myCases, Response: casesBody{}, Paging: &myCasesPaging, Responses: map[int]string{200: "The caller's cases.", 403: "Not a caseworker or supervisor."}},
		{Method: "GET", Path: "/v1/cases/{id}", ID: "getCase", Tag: "casework", Auth: "staff", StaffRoles: caseReadRoles, Consistent: true, Reads: []string{casefiles.Name, casequeues.Name, staffdirectory.Name},
			Summary: "A case, with its ETag (send it back as If-Match on every change): the queue's view, the member's id, the form they submitted (with the labels of its catalog version) and the timeline of every step with its actor (id and role), internal notes included (staff_only). Opening it is recorded in the member's access log (case.file), at every opening.",
			Handler: s.getCase, Response: caseBody{}, Bounded: "One case: its timeline is its own steps (tens at most).",
			Responses: map[int]string{200: "The case.", 403: "A queue the caller does not belong to.", 404: "No such case (also a confidential case, to staff outside the medical service).", 503: "The case file is not built yet; retry."}},
		{Method: "POST", Path: "/v1/cases/{id}/claim", ID: "claimCase", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Idempotent: true,
			Summary: "Claim a case. Of two caseworkers claiming at once, one wins and the other gets 409.", Handler: s.claimCase,
			Response: caseChangeBody{}, Responses: map[int]string{200: "Claimed; the ETag header is the case's new ETag.", 404: "No such case.", 403: "Outside the caller's queues.", 409: "Claimed by someone else, or changed since (If-Match)."}},
		{Method: "POST", Path: "/v1/cases/{id}/release", ID: "releaseCase", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Idempotent: true,
			Summary: "Give a claimed case back to its queue.", Handler: s.releaseCase, Response: caseChangeBody{},
			Responses: map[int]string{200: "Released; the ETag header is the case's new ETag.", 404: "No such case.", 409: "Changed since (If-Match).", 422: "Not the caller's case."}},
		{Method: "POST", Path: "/v1/cases/{id}/assignment", ID: "reassignCase", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Idempotent: true,
			Summary: "Reassign a case to another caseworker (supervisors).", Handler: s.reassignCase,
			Request: assignmentRequest{}, Response: caseChangeBody{}, Responses: map[int]string{200: "Reassigned; the ETag header is the case's new ETag.", 403: "Not a supervisor.", 404: "No such case.", 422: "The new holder may not work the case (outside its queue, or outside the medical service for a confidential case).", 409: "Changed since (If-Match)."}},
		{Method: "POST", Path: "/v1/cases/{id}/information-requests", ID: "requestCaseInformation", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Idempotent: true,
			Summary: "Ask the member for information by a deadline: the legal clock stops until they answer; past the deadline the case closes.",
			Handler: s.requestCaseInformation, Request: informationRequest{}, Response: caseChangeBody{},
			Responses: map[int]string{200: "Requested; the ETag header is the case's new ETag.", 404: "No such case.", 409: "Changed since (If-Match).", 422: "Not the caller's case, or information already awaited."}},
		{Method: "POST", Path: "/v1/cases/{id}/decision", ID: "decideCase", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Idempotent: true,
			Summary: "Decide (approve, or reject with a reason); the decision records the catalog version and rule applied, and closes the case.",
			Handler: s.decideCase, Request: decisionRequest{}, Response: caseChangeBody{},
			Responses: map[int]string{200: "Decided; the ETag header is the case's new ETag.", 404: "No such case.", 409: "Changed since (If-Match).", 422: "Closed, not the caller's, a rejection without reason, or a reason over 4,000 characters."}},
		{Method: "POST", Path: "/v1/cases/{id}/notes", ID: "addCaseNote", Tag: "casework", Auth: "staff", StaffRoles: caseRoles, Idempotent: true,
			Summary: "Add an internal note (staff only, never shown to the member).", Handler: s.addCaseNote,
			Request: noteRequest{}, Response: caseChangeBody{}, Responses: map[int]string{200: "Noted; the ETag header is the case's new ETag.", 404: "No such case.", 403: "Outside the caller's queues.", 409: "Changed since (If-Match)."}},

		// Appointments ("Demander un rendez-vous"), adapters/httpapi/appointments.go.
		{Method: "GET", Path: "/v1/appointment-catalog", ID: "appointmentCatalog", Tag: "appointments", Summary: "Appointment themes, channels, agencies (address, opening hours), rules and help hours.", Handler: s.appointmentCatalog, Response: appointmentCatalogBody{}, Bounded: "The appointment data in force in one document (a few themes, channels and agencies).", Responses: map[int]string{200: "The appointment data in force."}},
		{Method: "GET", Path: "/v1/appointment-slots", ID: "listAppointmentSlots", Tag: "appointments", Auth: "member", Consistent: true, Reads: []string{appointments.Name}, Summary: "Free slots of ?theme=&channel=&agency= (agency optional by phone and video) starting between ?from= and ?to= (RFC 3339; default the next 28 days; 62 days at most).", Handler: s.appointmentSlots, Response: slotsBody{}, Bounded: "Bounded by its window: from/to spans 62 days at most (422 beyond), cut to the booking horizon; one theme and channel.", Responses: map[int]string{200: "Free slots, by start.", 422: "Unknown theme, channel or agency; invalid period."}},
		{Method: "POST", Path: "/v1/appointments", ID: "bookAppointment", Tag: "appointments", Auth: "member", Idempotent: true, Summary: "Book a free slot (theme, channel, agency, start; note; callback phone by phone). A confirmation mail with an iCalendar file follows.", Handler: s.bookAppointment, Request: bookingRequest{}, Response: appointmentBody{}, Responses: map[int]string{201: "Booked.", 409: "Slot taken or not offered.", 422: "Outside the help hours, in the past, too many future appointments, unknown theme or agency, invalid field."}},
		{Method: "GET", Path: "/v1/appointments", ID: "listAppointments", Tag: "appointments", Auth: "member", Consistent: true, Reads: []string{appointments.Name}, Summary: "The member's appointments, by start, paged.", Handler: s.listAppointments, Response: appointmentsBody{}, Paging: &memberPaging, Responses: map[int]string{200: "The appointments."}},
		{Method: "POST", Path: "/v1/appointments/{id}/cancellation", ID: "cancelAppointment", Tag: "appointments", Auth: "member", Idempotent: true, Summary: "Cancel one of the member's appointments (at least 24 hours before); its slot is free again.", Handler: s.cancelAppointment, Response: positionBody{}, Responses: map[int]string{200: "Cancelled.", 404: "No such appointment of the member.", 422: "Too close to its start, or no longer booked."}},
		{Method: "POST", Path: "/v1/appointments/{id}/reschedule", ID: "rescheduleAppointment", Tag: "appointments", Auth: "member", Idempotent: true, Summary: "Move one of the member's appointments to another free slot of the same theme, channel and agency: the new slot is held before the old one is freed.", Handler: s.rescheduleAppointment, Request: rescheduleRequest{}, Response: appointmentBody{}, Responses: map[int]string{200: "Moved.", 404: "No such appointment of the member.", 409: "Slot taken or not offered.", 422: "Too close to its start, new slot outside the rules."}},
		{Method: "POST", Path: "/v1/staff/accounts/{id}/availability", ID: "publishAvailability", Tag: "appointments", Auth: "staff", StaffRoles: availabilityRoles, Idempotent: true, Summary: "Publish a staff member's availability for one theme, channel and agency: a weekly pattern inside the help hours, dates, exceptions (public holidays never have slots). Replaces the previous one for the same triple.", Handler: s.publishAvailability, Request: availabilityRequest{}, Response: positionBody{}, Responses: map[int]string{201: "Published.", 404: "No such staff member.", 422: "Invalid availability."}},
		{Method: "GET", Path: "/v1/staff/appointments", ID: "myAppointmentDay", Tag: "appointments", Auth: "staff", StaffRoles: calendarRoles, Consistent: true, Reads: []string{appointments.Name, staffdirectory.Name}, Summary: "The caller's appointments of ?date= (YYYY-MM-DD, Paris; default today).", Handler: s.myStaffDay, Response: calendarBody{}, Bounded: "One day of one staff member's calendar: slots of 15 minutes at least inside the help hours (500 rows at most).", Responses: map[int]string{200: "The day.", 422: "Invalid date."}},
		{Method: "GET", Path: "/v1/agencies/{agency}/appointments", ID: "agencyAppointmentDay", Tag: "appointments", Auth: "staff", StaffRoles: calendarRoles, Consistent: true, Reads: []string{appointments.Name, staffdirectory.Name}, Summary: "An agency's appointments of ?date= (YYYY-MM-DD, Paris; default today).", Handler: s.agencyDay, Response: calendarBody{}, Bounded: "One day of one agency's calendar: its staff's slots inside the help hours (500 rows at most).", Responses: map[int]string{200: "The day.", 422: "Unknown agency or invalid date."}},
		{Method: "POST", Path: "/v1/staff/appointments/{id}/outcome", ID: "recordAppointmentOutcome", Tag: "appointments", Auth: "staff", StaffRoles: calendarRoles, Idempotent: true, Summary: "Mark an appointment held (with an outcome note, personal data) or missed, once it has started. Caseworkers: their own appointments only.", Handler: s.recordAppointmentOutcome, Request: outcomeRequest{}, Response: positionBody{}, Responses: map[int]string{200: "Recorded.", 403: "Another staff member's appointment.", 404: "No such appointment.", 422: "Not started or no longer booked."}},
		// Conversations ("Nous envoyer un message"), adapters/httpapi/conversations.go.
		{Method: "POST", Path: "/v1/conversations", ID: "startConversation", Tag: "conversations", Auth: "member", Idempotent: true, Summary: "Write to the fund: a theme (routed to its queue; a reply is due within the theme's target in business hours of the help line), a subject, a message (plain text, 5000 characters at most), optionally one of the member's requests.", Handler: s.startConversation, Request: startConversationRequest{}, Response: conversationStartedBody{}, Responses: map[int]string{201: "Started.", 422: "Unknown theme, subject or message empty or too long, a request that is not the member's."}},
		{Method: "GET", Path: "/v1/conversations", ID: "listConversations", Tag: "conversations", Auth: "member", Consistent: true, Reads: []string{conversations.Name}, Summary: "The member's conversations, the newest first, paged: status, reply due, unread replies.", Handler: s.listConversations, Response: conversationsBody{}, Paging: &memberPaging, Responses: map[int]string{200: "The conversations."}},
		{Method: "GET", Path: "/v1/conversations/{id}", ID: "getConversation", Tag: "conversations", Auth: "member", Summary: "One of the member's conversations with every message (never the staff's internal notes); the first reading of each reply is recorded (read_at).", Handler: s.getConversation, Response: conversationBody{}, Bounded: "One conversation's messages, as one case's timeline.", Responses: map[int]string{200: "The conversation.", 404: "No such conversation of the member."}},
		{Method: "POST", Path: "/v1/conversations/{id}/messages", ID: "writeConversation", Tag: "conversations", Auth: "member", Idempotent: true, Summary: "Write on one of the member's open conversations: the wait for a reply starts again.", Handler: s.writeConversation, Request: conversationMessageRequest{}, Response: positionBody{}, Responses: map[int]string{201: "Written.", 404: "No such conversation of the member.", 422: "Closed conversation, message empty or too long."}},
		{Method: "GET", Path: "/v1/conversation-queues", ID: "conversationQueues", Tag: "conversations", Auth: "staff", StaffRoles: caseReadRoles, Consistent: true, Reads: []string{conversations.Name}, Summary: "For each queue the caller sees: conversations awaiting a reply (unclaimed ones), answered ones, the next reply due and the breaches (awaiting past their due date).", Handler: s.conversationQueues, Response: conversationQueuesBody{}, Bounded: "One entry per queue the caller sees (a handful).", Responses: map[int]string{200: "The queues.", 403: "Not a caseworker, supervisor or auditor."}},
		{Method: "GET", Path: "/v1/queues/{queue}/conversations", ID: "listQueueConversations", Tag: "conversations", Auth: "staff", StaffRoles: caseReadRoles, Consistent: true, Reads: []string{conversations.Name}, Summary: "A queue's conversations awaiting a reply, the earliest due first, paged.", Handler: s.listQueueConversations, Response: conversationsBody{}, Paging: &memberPaging, Responses: map[int]string{200: "The conversations.", 403: "Outside the caller's queues.", 404: "No such queue."}},
		{Method: "GET", Path: "/v1/staff/conversations/{id}", ID: "staffConversation", Tag: "conversations", Auth: "staff", StaffRoles: caseReadRoles, Summary: "A conversation of a queue the caller sees, internal notes included, with its ETag; a caseworker's or supervisor's reading records the first reading of the member's messages. Recorded in the member's access log (conversation).", Handler: s.staffConversation, Response: conversationBody{}, Bounded: "One conversation's messages and notes, as one case's timeline.", Responses: map[int]string{200: "The conversation; the ETag header is its revision.", 403: "Outside the caller's queues.", 404: "No such conversation."}},
		{Method: "POST", Path: "/v1/staff/conversations/{id}/claim", ID: "claimConversation", Tag: "conversations", Auth: "staff", StaffRoles: caseRoles, Idempotent: true, Summary: "Take a conversation of one's queues.", Handler: s.claimConversation, Response: caseChangeBody{}, Responses: map[int]string{200: "Claimed; the ETag header is the new ETag.", 403: "Outside the caller's queues.", 404: "No such conversation.", 409: "Claimed by someone else, or changed since (If-Match).", 422: "Closed."}},
		{Method: "POST", Path: "/v1/staff/conversations/{id}/release", ID: "releaseConversation", Tag: "conversations", Auth: "staff", StaffRoles: caseRoles, Idempotent: true, Summary: "Give a conversation back to its queue: its holder, or a supervisor whoever holds it.", Handler: s.releaseConversation, Response: caseChangeBody{}, Responses: map[int]string{200: "Released; the ETag header is the new ETag.", 403: "Outside the caller's queues, or held by another caseworker.", 404: "No such conversation.", 409: "Changed since (If-Match).", 422: "Not claimed, or closed."}},
		{Method: "POST", Path: "/v1/staff/conversations/{id}/replies", ID: "replyConversation", Tag: "conversations", Auth: "staff", StaffRoles: caseRoles, Idempotent: true, Summary: "Reply to the member on a conversation the caller holds; the member is told by mail that a reply is waiting (never its content).", Handler: s.replyConversation, Request: conversationMessageRequest{}, Response: caseChangeBody{}, Responses: map[int]string{200: "Replied; the ETag header is the new ETag.", 403: "Outside the caller's queues.", 404: "No such conversation.", 409: "Changed since (If-Match).", 422: "Not claimed by the caller, closed, message empty or too long."}},
		{Method: "POST", Path: "/v1/staff/conversations/{id}/notes", ID: "noteConversation", Tag: "conversations", Auth: "staff", StaffRoles: caseRoles, Idempotent: true, Summary: "Add an internal note (staff only, never shown to the member), also on a closed conversation.", Handler: s.noteConversation, Request: conversationNoteRequest{}, Response: caseChangeBody{}, Responses: map[int]string{200: "Noted; the ETag header is the new ETag.", 403: "Outside the caller's queues.", 404: "No such conversation.", 409: "Changed since (If-Match).", 422: "Note empty or too long."}},
		{Method: "POST", Path: "/v1/staff/conversations/{id}/closure", ID: "closeConversation", Tag: "conversations", Auth: "staff", StaffRoles: caseRoles, Idempotent: true, Summary: "Close a conversation the caller holds.", Handler: s.closeConversation, Response: caseChangeBody{}, Responses: map[int]string{200: "Closed; the ETag header is the new ETag.", 403: "Outside the caller's queues.", 404: "No such conversation.", 409: "Changed since (If-Match).", 422: "Not claimed by the caller, or closed already."}},
		// The auditor's histories (issue 16 item 1), adapters/httpapi/audit_history.go.
		{Method: "GET", Path: "/v1/audit/members/{id}/history", ID: "memberHistory", Tag: "audit", Auth: "staff", StaffRoles: auditRoles, Consistent: true, Reads: []string{auditstreams.Name, casequeues.Name}, Summary: "Every event of every stream of a member (account, registration, requests, deposits, inbox, conversations, appointments, finance facts, access log, estimates, erasure), in commit order, decoded (erased personal data reads \"données effacées\"), each with its actor and role, business and recorded times, commit position, command, correlation and causation ids, and its stored bytes (stored: the leaf of the log's Merkle tree). Auditors only; cases of a confidential queue are left out outside the medical service. Each reading is recorded in the member's access log (audit.history) before it is answered. Filters: from/to (recorded time), type.", Handler: s.memberHistory, Response: historyBody{}, Paging: &historyPaging, Responses: map[int]string{200: "One page of the history.", 403: "Not an auditor.", 404: "No such member.", 422: "Invalid limit, cursor or filter; from after to; a time in the future.", 503: "Histories are not configured."}},
		{Method: "GET", Path: "/v1/audit/cases/{id}/history", ID: "caseHistory", Tag: "audit", Auth: "staff", StaffRoles: auditRoles, Consistent: true, Reads: []string{auditstreams.Name, casequeues.Name}, Summary: "Every event of one case (its request stream and its reference claim), as the member's history. Auditors only; recorded in the member's access log (audit.history, the case id as subject) before it is answered.", Handler: s.caseHistory, Response: historyBody{}, Paging: &historyPaging, Responses: map[int]string{200: "One page of the case's history.", 403: "Not an auditor.", 404: "No such case (also a confidential case, outside the medical service).", 422: "Invalid limit, cursor or filter; from after to; a time in the future.", 503: "Histories are not configured."}},

		// Auditor's toolkit (issue 16): the past as it was.
		{Method: "GET", Path: "/v1/audit/members/{id}/account", ID: "auditAccountAsOf", Tag: "audit", Auth: "staff", StaffRoles: auditRoles,
			Summary: "Auditors only: a member's account (the body of GET /v1/me) as it was at ?at= (required: an RFC 3339 instant or a commit position), rebuilt from the member's events by the live projection's code; as_of names the position it reflects. Recorded in the member's access log first.",
			Handler: s.accountAsOf, Response: accountAsOfBody{}, Responses: map[int]string{200: "The account as it was.", 403: "Not an auditor.", 404: "No such member, or no account yet at that point.", 422: "at missing or malformed, before the first event, or in the future."}},
		{Method: "GET", Path: "/v1/audit/queues/{queue}", ID: "auditQueueAsOf", Tag: "audit", Auth: "staff", StaffRoles: auditRoles,
			Summary: "Auditors only: a queue's figures and open cases, by pages, as they were at ?at= (required: an RFC 3339 instant or a commit position), rebuilt from the requests' events by the live projection's code; as_of names the position it reflects.",
			Handler: s.queueAsOf, Response: queueAsOfBody{}, Paging: &asOfQueuePaging, Responses: map[int]string{200: "The queue as it was.", 403: "Not an auditor, or a confidential queue outside the medical service.", 404: "No such queue.", 422: "at missing or malformed, before the first event, or in the future."}},

		{Method: "POST", Path: "/v1/staff/appointments/{id}/cancellation", ID: "staffCancelAppointment", Tag: "appointments", Auth: "staff", StaffRoles: calendarRoles, Idempotent: true, Summary: "Cancel a member's appointment for them, whatever the notice: the staff member of the appointment, or a supervisor. The member is mailed (with an iCalendar cancellation) and the slot is free again; cancelling again changes nothing.", Handler: s.staffCancelAppointment, Response: positionBody{}, Responses: map[int]string{200: "Cancelled.", 403: "Another staff member's appointment.", 404: "No such appointment.", 422: "No longer booked (held or missed)."}},
		// Conversations' attachments (adapters/httpapi/conversation_attachments.go): the multipart variants and the downloads.
		{Method: "POST", Path: "/v1/conversations/with-attachments", ID: "startConversationWithAttachments", Tag: "conversations", Auth: "member", Idempotent: true, BodyLimit: ConversationBodyLimit(), Summary: "Write to the fund with attachments: one multipart/form-data request, first a part \"message\" (the JSON of POST /v1/conversations), then each file as a part \"attachments\" (1 to 5). Files follow the deposits' rules, judged by their content: PDF (parsed; refused when encrypted or with scripts, automatic actions or embedded files), JPEG or PNG (fully decoded), 1 byte to 1 Mo (1,048,576 bytes). A refusal names the attachment; nothing is stored. The same Idempotency-Key with the same message and files starts one conversation.", Handler: s.startConversationFiles, Request: startConversationParts{}, Response: conversationStartedBody{}, Responses: map[int]string{201: "Started.", 400: "Not a well-formed multipart message (conversation.malformed).", 413: "Above the total size limit, declared or read (conversation.too_large).", 415: "Not a multipart/form-data body (conversation.multipart_required).", 422: "A refused file (named), too many files, or the message's own refusals.", 503: "Attachments cannot be stored now; retry."}},
		{Method: "POST", Path: "/v1/conversations/{id}/messages/with-attachments", ID: "writeConversationWithAttachments", Tag: "conversations", Auth: "member", Idempotent: true, BodyLimit: ConversationBodyLimit(), Summary: "Write on one of the member's open conversations with attachments: a part \"message\" (the JSON of POST /v1/conversations/{id}/messages), then the files as parts \"attachments\", under the same rules as a new conversation's.", Handler: s.writeConversationFiles, Request: conversationMessageParts{}, Response: positionBody{}, Responses: map[int]string{201: "Written.", 400: "Not a well-formed multipart message (conversation.malformed).", 404: "No such conversation of the member.", 413: "Above the total size limit (conversation.too_large).", 415: "Not a multipart/form-data body (conversation.multipart_required).", 422: "Closed conversation, a refused file (named), too many files, message empty or too long.", 503: "Attachments cannot be stored now; retry."}},
		{Method: "GET", Path: "/v1/conversations/{id}/messages/{message}/attachments/{n}", ID: "conversationAttachment", Tag: "conversations", Auth: "member", Summary: "A file attached to a message of one of the member's conversations (n from 0): its real type, nosniff, as an attachment.", Handler: s.conversationAttachment, Responses: map[int]string{200: "The file.", 404: "No such conversation of the member, message or attachment.", 503: "The file cannot be served now; retry."}},
		{Method: "GET", Path: "/v1/staff/conversations/{id}/messages/{message}/attachments/{n}", ID: "staffConversationAttachment", Tag: "conversations", Auth: "staff", StaffRoles: caseReadRoles, Summary: "A file attached to a member's message, for staff who see the conversation's queue: its real type, nosniff, as an attachment. Every opening is recorded in the member's access log (conversation.attachment) before the content is read.", Handler: s.staffConversationAttachment, Responses: map[int]string{200: "The file.", 403: "Outside the caller's queues.", 404: "No such conversation, message or attachment.", 503: "The file cannot be served now; retry."}},
	}
}

// adminOnly are the roles of administration routes.
var adminOnly = []string{"admin"}

// sentenceBody is an answer that is only a sentence for the member, with no position: a command whose outcome must
// not be told (resending a code answers the same whether or not a registration is in progress).
type sentenceBody struct {
	Message string `json:"message"`
}

// messageBody is a command's answer when it has only a sentence for the member.
type messageBody struct {
	Message  string `json:"message"`
	Position string `json:"position"`
}

type activationBody struct {
	MemberID string `json:"member_id"`
	Message  string `json:"message"`
	Position string `json:"position"`
}

type resetAccepted struct {
	ResetID  string `json:"reset_id"`
	Message  string `json:"message"`
	Position string `json:"position"`
}
