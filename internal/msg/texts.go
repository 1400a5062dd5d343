package msg

// Texts is every text fieldgate shows a person, one method per text. The
// comment of each method quotes its English form with the parameters in
// braces. Case numbers are formatted ("2026-000042"), seq is the short
// number people type ("ok 42"), distances are whole metres.
type Texts interface {
	// Reporter receipts and intake

	// Accepted: “Report {caseNumber} accepted – forwarded to {team}.”
	Accepted(caseNumber, team string) string
	// AcceptedDistrict: “Report {caseNumber} accepted – forwarded to {team} (district {district}).”
	AcceptedDistrict(caseNumber, team, district string) string
	// NeedLocation: “Report {caseNumber} has no location. Please share your location (Conversations: paper clip → location; Dino/Gajim: send a geo: link such as geo:51.0254,7.5919). Send photos as a file so their GPS data is kept.”
	NeedLocation(caseNumber string) string
	// PartJoined: “Added to report {caseNumber}.”
	PartJoined(caseNumber string) string
	// LocationReceived: “Location for report {caseNumber} received.”
	LocationReceived(caseNumber string) string
	// LocationTaken: “Location for report {caseNumber} received and passed on to whoever handles it.”
	LocationTaken(caseNumber string) string
	// LocationMoved: “Report {caseNumber}: location received – forwarded to {team}.”
	LocationMoved(caseNumber, team string) string
	// LocationMovedDistrict: “Report {caseNumber}: location received – forwarded to {team} (district {district}).”
	LocationMovedDistrict(caseNumber, team, district string) string
	// NotJoinedCaseTaken: “Report {prev} is already being handled, so your message is the new report {caseNumber}.”
	NotJoinedCaseTaken(prev, caseNumber string) string
	// NotJoinedCaseClosed: “Report {prev} is closed, so your message is the new report {caseNumber}.”
	NotJoinedCaseClosed(prev, caseNumber string) string
	// NotJoinedFarPosition: “Your message is {distanceM} m away from report {prev} and therefore the new report {caseNumber}. If it belongs there after all, please tell the control room.”
	NotJoinedFarPosition(distanceM int, prev, caseNumber string) string
	// NewNeedsContent: “After “new”, please send the new report's text, a photo or the location.”
	NewNeedsContent() string
	// PartSplitReporter: “The control room split your latest message to report {caseNumber} off into a report of its own, {newCase}.”
	PartSplitReporter(caseNumber, newCase string) string
	// PartSplitByReporter: “Your last message was split off report {caseNumber} and is now report {newCase} of its own.”
	PartSplitByReporter(caseNumber, newCase string) string
	// UndoNotReady: “Your last message is still being processed; please send “new” again in a moment.”
	UndoNotReady() string
	// TakenReporter: “Your report {caseNumber} is now being handled by {team}.”
	TakenReporter(caseNumber, team string) string
	// ResolvedReporter: “Your report {caseNumber} has been resolved. Thank you!”
	ResolvedReporter(caseNumber string) string
	// ReassignedReporter: “Your report {caseNumber} has been forwarded to {team}.”
	ReassignedReporter(caseNumber, team string) string
	// RejectedReporter: “Your report {caseNumber} is not our responsibility: {reason}”
	RejectedReporter(caseNumber, reason string) string
	// DupReporter: “Your report {caseNumber} concerns the same case as {original}, which has already been reported. We added it there – thank you! If it is something else, answer “new” within 10 minutes.” (a bare “neu”/“new” then unmerges it: dispatch.undoDuplicate)
	DupReporter(caseNumber, original string) string
	// UnmergedReporter: “Your report {caseNumber} is now handled on its own.”
	UnmergedReporter(caseNumber string) string
	// ReplyReporter: “Reply to your report {caseNumber} ({team}): ⏎ {text}”
	ReplyReporter(caseNumber, team, text string) string
	// AckTimeoutOwner: “⏰ You took {caseNumber} {held} ago; it is not resolved and has been released.”
	AckTimeoutOwner(caseNumber, held string) string

	// Team room posts and notes

	// PostHeader: “Report {caseNumber} · {team}”
	PostHeader(caseNumber, team string) string
	// FollowupPost: “📎 Addition to {caseNumber}”
	FollowupPost(caseNumber string) string
	// UrgentLabel: “URGENT”
	UrgentLabel() string
	// NoPosition: “📍 Location being requested (asked the reporter).”
	NoPosition() string
	// DistrictLabel: “district {district}”
	DistrictLabel(district string) string
	// Actions: “Take: “ok {takeSeq}” · Resolve: “erledigt {resolveSeq}””
	Actions(takeSeq, resolveSeq int) string
	// ActionsTaken: “Resolve: “erledigt {resolveSeq}””
	ActionsTaken(resolveSeq int) string
	// PhotoLine: “📷 {url}”
	PhotoLine(url string) string
	// AttachmentNoPreview: “📎 Attachment {contentType}, {sizeBytes, as KiB/MiB in the language's decimal notation} – no preview; available through the API/control room (case {caseNumber})”
	AttachmentNoPreview(contentType string, sizeBytes int64, caseNumber string) string
	// PositionSource: “source: {sources}”
	PositionSource(sources string) string
	// SourceExif: “photo (EXIF)”
	SourceEXIF() string
	// SourceXmp: “photo (XMP)”
	SourceXMP() string
	// SourceApi: “app”
	SourceAPI() string
	// SourceGeoURI: “position in the message (geo: link, map link, coordinates)”
	SourceGeoURI() string
	// SourceXEP0080: “shared location (XEP-0080)”
	SourceXEP0080() string
	// TwoPerson: “👥 Two-person rule: {confirmers} confirmations needed (“ok” from two people).”
	TwoPerson(confirmers int) string
	// FlagPhotoOld: “Photo taken on {takenAt}, {age} before it was received – is it current?”
	FlagPhotoOld(takenAt, age string) string
	// FlagPhotoFuture: “Photo taken on {takenAt}, after it was received – is the camera's clock right?”
	FlagPhotoFuture(takenAt string) string
	// FlagPositionsDisagree: “Positions disagree by {distanceM} m – please check.”
	FlagPositionsDisagree(distanceM int) string
	// FlagSplitFar: “Reported {distanceM} m away from {other} – handled as a case of its own.”
	FlagSplitFar(distanceM int, other string) string
	// LocationOwner: “📍 Location for {caseNumber} added: {position}”
	LocationOwner(caseNumber, position string) string
	// MovedOldRoom: “↪️ {caseNumber} received a location and was forwarded to {team} ({reason}).”
	MovedOldRoom(caseNumber, team, reason string) string
	// TakenRoom: “✅ {caseNumber} taken by {actor}.”
	TakenRoom(caseNumber, actor string) string
	// ResolvedRoom: “☑️ {caseNumber} resolved by {actor}.”
	ResolvedRoom(caseNumber, actor string) string
	// TakenFirstRoom: “✅ {caseNumber} taken by {actor} – a second confirmation is needed: “ok {seq}””
	TakenFirstRoom(caseNumber, actor string, seq int) string
	// ConfirmedRoom: “✅ {caseNumber} confirmed by {actor} – taken by {owner}, second confirmation given.”
	ConfirmedRoom(caseNumber, actor, owner string) string
	// EscReminder: “⏰ Reminder: {caseNumber} has not been taken for {since}. Take: “ok {seq}””
	EscReminder(caseNumber, since string, seq int) string
	// EscRoom: “🚨 Escalation level {level}: {caseNumber} ({team}) has not been taken for {since}. ⏎ {summary} ⏎ Take: “ok {seq}””
	EscRoom(level int, caseNumber, team, since, summary string, seq int) string
	// EscChat: “🚨 Escalation level {level}: {caseNumber} ({team}) has not been taken for {since}. ⏎ {summary} ⏎ To take it, answer here with “ok {seq}”.”
	EscChat(level int, caseNumber, team, since, summary string, seq int) string
	// EscNobody: “⚠️ {caseNumber}: level {level} should alert the on-call person ({schedule}), but nobody is on call.”
	EscNobody(caseNumber string, level int, schedule string) string
	// EscSecondMissing: “Confirmed by {owner} – the second confirmation is still missing.”
	EscSecondMissing(owner string) string
	// AckTimeoutRoom: “⏰ {caseNumber} was taken by {owner} but is still not resolved after {held} – open again, escalation restarts. Take: “ok {seq}””
	AckTimeoutRoom(caseNumber, owner, held string, seq int) string
	// ReassignedNew: “↪️ {caseNumber} reassigned to {team} by {actor} (before: {oldTeam}).{reason} ⏎ History: ⏎ {history}”
	ReassignedNew(caseNumber, team, actor, oldTeam, reason, history string) string
	// ReassignedOld: “↪️ {caseNumber} handed over to {team} by {actor}.{reason}”
	ReassignedOld(caseNumber, team, actor, reason string) string
	// ReasonSuffix: “ Reason: {reason}”
	ReasonSuffix(reason string) string
	// RejectedRoom: “⛔ {caseNumber} rejected by {actor}: {reason}”
	RejectedRoom(caseNumber, actor, reason string) string
	// DupRoom: “➕ +1 report on {caseNumber} ({dupCase}, {distanceM} m away): ⏎ {text}”
	DupRoom(caseNumber, dupCase string, distanceM int, text string) string
	// UnmergedRoom: “➖ {caseNumber} is not a duplicate of {original} after all and is handled on its own.”
	UnmergedRoom(caseNumber, original string) string
	// ReplyRoom: “✉️ Reply on {caseNumber} sent to the reporter ({actor}).”
	ReplyRoom(caseNumber, actor string) string
	// ReplyRoomJIDs: “✉️ Reply on {caseNumber} sent to {recipients} ({actor}).”
	ReplyRoomJIDs(caseNumber, recipients, actor string) string

	// Answers to commands (room, 1:1 chat, API)

	// AlreadyTaken: “{caseNumber} has already been taken by {owner}.”
	AlreadyTaken(caseNumber, owner string) string
	// ReleasedRoom: “🔁 {caseNumber} given back by {actor} – open again, escalation restarts. Take: “ok {seq}””
	ReleasedRoom(caseNumber, actor string, seq int) string
	// NotYourTake: “{caseNumber} is not taken by you; only whoever took it (or the dispatch centre) can give it back.”
	NotYourTake(caseNumber string) string
	// AlreadyConfirmed: “You have already confirmed; a second person must confirm.”
	AlreadyConfirmed() string
	// AlreadyClosed: “{caseNumber} is already closed ({state}).”
	AlreadyClosed(caseNumber, state string) string
	// NotYourRoom: “{caseNumber} does not belong to this room.”
	NotYourRoom(caseNumber string) string
	// NotYourTeam: “{caseNumber} belongs to team {team}; only its members (and dispatchers) can handle it.”
	NotYourTeam(caseNumber, team string) string
	// NotAlerted: “{caseNumber}: you were not alerted for this case; please take it in the team room.”
	NotAlerted(caseNumber string) string
	// UnknownCase: “No open case {ref} found.”
	UnknownCase(ref string) string
	// MergedClosed: “{caseNumber} is a duplicate of {target} – please take that one (“ok {targetSeq}”).”
	MergedClosed(caseNumber, target string, targetSeq int) string
	// DispatcherOnly: “Only dispatchers may do that.”
	DispatcherOnly() string
	// UnknownTeam: “No team “{team}”. Teams: {teams}”
	UnknownTeam(team, teams string) string
	// SameTeam: “{caseNumber} is already with {team}.”
	SameTeam(caseNumber, team string) string
	// ReassignedMeanwhile: “{caseNumber} was moved to {team} meanwhile; …”
	// (a reassignment that raced another one and lost).
	ReassignedMeanwhile(caseNumber, team string) string
	// ReassignedReply: “{caseNumber} reassigned to {team}.”
	ReassignedReply(caseNumber, team string) string
	// RejectNeedsReason: “Please give a reason: “abgelehnt {seq} reason”.”
	RejectNeedsReason(seq int) string
	// RejectedReply: “{caseNumber} rejected.”
	RejectedReply(caseNumber string) string
	// NotMerged: “{caseNumber} is not a duplicate.”
	NotMerged(caseNumber string) string
	// UnmergedReply: “{caseNumber} is handled on its own again.”
	UnmergedReply(caseNumber string) string
	// MergedReply: “{caseNumber} was merged into {into} as a duplicate.”
	MergedReply(caseNumber, into string) string
	// MergeInvalid: “{caseNumber} cannot be merged into {into}: both must be open and different.”
	MergeInvalid(caseNumber, into string) string
	// PartSplitReply: “Latest part of {caseNumber} split off: now report {newCase} of its own.”
	PartSplitReply(caseNumber, newCase string) string
	// ReplyAPIOnly: “{caseNumber} was reported through the app/API: the reply is stored in its history, where the reporter can read it.”
	ReplyAPIOnly(caseNumber string) string
	// ReplyEmpty: “Please give a text or a canned text: “antwort {seq} /erledigt”. Canned texts: {templates}”
	ReplyEmpty(seq int, templates string) string
	// UnknownTemplate: “No canned text “/{name}”. Available: {templates}”
	UnknownTemplate(name, templates string) string

	// Units

	// UnitS: “s”
	UnitS() string
	// UnitMin: “min”
	UnitMin() string
	// UnitH: “h”
	UnitH() string
	// UnitD: “d”
	UnitD() string

	// Gateway replies to senders

	// NotAllowed: “Sorry, you may not send reports to {address}. Please contact your control room.”
	NotAllowed(address string) string
	// ReportRejected: “Report not accepted: {reason}”
	ReportRejected(reason string) string
	// TryAgain: “The report could not be stored right now. Please send it again in a minute.”
	TryAgain() string
	// RateLimited: “Too many messages in a short time. Please wait a moment and send again.”
	RateLimited() string
	// RateLimitedSpan: “Too many messages in a short time: I did not take your messages sent from {from} to {until} (your messenger marks them as not delivered). Please send them again after {until}.”
	RateLimitedSpan(from, until string) string
	// AttachmentFailed: “An attachment could not be taken ({attachment}). The text was accepted; please send the attachment again.”
	AttachmentFailed(attachment string) string
	// RoomNotMember: “Only members of this team (and dispatchers) can take or handle reports here.”
	RoomNotMember() string
	// LanguageChosen: “From now on I answer you in English. (Write “deutsch” for German.)” (answer to “english”/“deutsch” sent to a function address, in the chosen language)
	LanguageChosen() string
	// RetractNotSupported: “A sent message cannot be withdrawn here: your report stays as it is. If something in it was wrong, please write briefly what.” (answer to an XEP-0424 retraction)
	RetractNotSupported() string
	// RoomPrivateHint: “Here I only understand commands such as “ok 42”, “erledigt 42” or “antwort 42 text”. Please send reports to a function address, and write everything else in the room.” (answer to a private message in a team room)
	RoomPrivateHint() string
	// RoomAnonymous: “I cannot tell who you are: the room must be non-anonymous.”
	RoomAnonymous() string
	// GeoSuggest: “I did not take the location “{bad}”: in a geo: link a comma separates latitude and longitude, and decimals follow a point. Did you mean {suggest}? Then please send it exactly like that.”
	GeoSuggest(bad, suggest string) string
	// AttachmentTooLarge: “too large”
	AttachmentTooLarge() string
	// AttachmentTooSlow: “too slow”
	AttachmentTooSlow() string
	// AttachmentTooMany: “too many at once”
	AttachmentTooMany() string
	// AttachmentType: “file type not allowed”
	AttachmentType() string
	// AttachmentTooLargeLimit: “too large, at most {limitBytes} for {contentType}” (limitBytes in bytes, shown in KiB/MiB/GiB)
	AttachmentTooLargeLimit(contentType string, limitBytes int64) string
	// AttachmentTypeDetected: “file type {contentType} not allowed”
	AttachmentTypeDetected(contentType string) string
	// AttachmentEmpty: “empty file”
	AttachmentEmpty() string
	// AttachmentUnavailable: “not retrievable”
	AttachmentUnavailable() string
	// GeoHint: “I did not take the location “{bad}” ({why}). The right form is e.g. geo:51.0251,7.5919 – latitude, comma, longitude, decimals with a point. Or share your location with the paper clip.”
	GeoHint(bad, why string) string
	// GeoMalformed: “not a valid geo: link”
	GeoMalformed() string
	// GeoCommaDecimal: “decimal comma instead of a point”
	GeoCommaDecimal() string
	// GeoImprecise: “whole degrees only, too imprecise”
	GeoImprecise() string
	// GeoOutOfRange: “out of range”
	GeoOutOfRange() string
	// GeoOtherCRS: “coordinate system other than WGS 84”
	GeoOtherCRS() string
	// AttachmentNotTaken: “An attachment could not be taken ({attachment}); its link is kept as text in the report.” (for failures that sending again does not cure: too large, type not allowed, empty)
	AttachmentNotTaken(attachment string) string
	// CorrectionPrefix: “✏️ Correction:” (before the text of an XEP-0308 correction added to a report)
	CorrectionPrefix() string
	// GeoShortLink: “a short link; fieldgate opens no links, so it cannot see the position in it”
	GeoShortLink() string
	// GeoCoarseLink: “the map link names an area, not a place”
	GeoCoarseLink() string
	// GeoLocationInvalid: “the shared location (XEP-0080) has no valid latitude and longitude”
	GeoLocationInvalid() string
	// AttachmentHostNotAllowed: “The file at {host} was not fetched: fieldgate only takes files from the upload services of approved servers. The link is kept as text in the report; please send the photo as a file through your own account.”
	AttachmentHostNotAllowed(host string) string
	// GeoOnlyHint: “Nothing was stored.”
	GeoOnlyHint() string
	// UnknownAddressXMPP: “Unknown address. Valid addresses: {addresses}”
	UnknownAddressXMPP(addresses string) string
	// InternalError: “Internal error, please try again.”
	InternalError() string

	// Encrypted conversations (OMEMO, XEP-0384)

	// OMEMOUndecryptable: “Your encrypted message could not be read and was NOT accepted as a report. Please renegotiate encryption (in Conversations: contact details → OMEMO keys) and send the message again.”
	OMEMOUndecryptable() string
	// OMEMOKeyChanged: “The key of your device {device} has changed (for example after reinstalling the messenger). To protect your reports I read nothing encrypted with it until the town's IT has confirmed the new key. Your message was NOT accepted. Please show IT the fingerprint of your device ({fingerprint}) as your messenger shows it; until then send without encryption if your town allows it.”
	OMEMOKeyChanged(device int, fingerprint string) string
	// OMEMONotForUs: “Your message was not encrypted for this address's current device and was NOT accepted. Please refresh the contact's device list and send again.”
	OMEMONotForUs() string
	// OMEMOFileFailed: “An encrypted file could not be taken (download or check failed). The message was NOT accepted; please send it again.”
	OMEMOFileFailed() string
	// OMEMORequired: “This address accepts encrypted reports only. Your message was NOT accepted: please switch on OMEMO encryption and send it again.”
	OMEMORequired() string
	// OMEMORoomUndecryptable: “fieldgate could not read your encrypted message and did NOT act on it. Please refresh the OMEMO device list and send it again.”
	OMEMORoomUndecryptable() string
	// OMEMOUnsupported: “fieldgate cannot read this encryption (OMEMO only, as in Conversations, Monal, Dino and Gajim). Your message was NOT accepted: please send it again with OMEMO or unencrypted.”
	OMEMOUnsupported() string
	// OMEMORoomFile: “🔒 Image {image}: sent encrypted as a separate message”
	OMEMORoomFile(image int) string
	// OMEMORoomFileFailed: “Image {image} could not be sent encrypted into the room; available through the API/control room”
	OMEMORoomFileFailed(image int) string
	// OMEMOOff: “This address cannot read encrypted messages. Please send the report unencrypted.”
	OMEMOOff() string
	// OMEMOFallback: “[OMEMO encrypted message – your client cannot show it]” (the plaintext body of an encrypted message, XEP-0384 §7, for clients without OMEMO)
	OMEMOFallback() string

	// Domain errors (what a request or command did wrong)

	// MissingAddress: “missing function address (field 'to')”
	MissingAddress() string
	// UnknownAddress: “unknown function address {address}; valid addresses: {valid}”
	UnknownAddress(address, valid string) string
	// AddressNotAllowed: “sender may not write to {address}”
	AddressNotAllowed(address string) string
	// UnknownChannel: “unknown channel {channel}”
	UnknownChannel(channel string) string
	// MissingSender: “missing sender”
	MissingSender() string
	// TextNotUTF8: “text is not valid UTF-8”
	TextNotUTF8() string
	// TextHasNUL: “text contains a NUL character”
	TextHasNUL() string
	// FieldBadText: “field {field} contains a NUL character or is not valid UTF-8”
	FieldBadText(field string) string
	// TextTooLong: “text too long: {n} characters, at most {max}”
	TextTooLong(n, max int) string
	// EmptyReport: “empty report: send a text, a photo or a location”
	EmptyReport() string
	// TooManyAttachments: “too many attachments: {n}, at most {max}”
	TooManyAttachments(n, max int) string
	// PositionOutOfRange: “position out of range: lat must be in [-90,90], lon in [-180,180], and not 0,0”
	PositionOutOfRange() string
	// IdempotencyKeyTooLong: “idempotency key too long (at most {max} characters)”
	IdempotencyKeyTooLong(max int) string
	// ReplyTooLong: “reply too long: {n} characters, at most {max}”
	ReplyTooLong(n, max int) string
	// ReportNotFound: “report not found”
	ReportNotFound() string
	// IncidentNotFound: “incident not found”
	IncidentNotFound() string
	// NotACaseNumber: “not a case number: {ref}”
	NotACaseNumber(ref string) string
	// NotAnIncidentPost: “that message is not an incident post”
	NotAnIncidentPost() string
	// StateTransition: “incident state {from} cannot become {to}”
	StateTransition(from, to string) string
	// UnknownDeliveryKind: “unknown delivery kind {kind}”
	UnknownDeliveryKind(kind string) string
	// ListLimit: “limit must be between {min} and {max}”
	ListLimit(min, max int) string
	// ListUrgency: “urgency must be low, normal, high or urgent”
	ListUrgency() string
	// ListStatus: “status must be open, closed or all”
	ListStatus() string
	// ListUnknownState: “unknown state {state}”
	ListUnknownState(state string) string
	// ListSearchTooLong: “search text is longer than {max} characters”
	ListSearchTooLong(max int) string
	// ListBadCursor: “cursor is not one this server issued”
	ListBadCursor() string
	// StatsBy: “stats: by must be team, district or week”
	StatsBy() string
	// TokenAddress: “address {address}: give the local part of a function address (tiefbau), or * for all”
	TokenAddress(address string) string
	// TokenName: “token name must be 1-64 characters without spaces or colons”
	TokenName() string
	// TokenRole: “unknown role {role} (reporter, dispatcher, metrics, team:<id>)”
	TokenRole(role string) string
	// TokenNoRole: “a token needs at least one role”
	TokenNoRole() string
	// TokenSecretShort: “a given token secret must be at least {min} characters”
	TokenSecretShort(min int) string
	// TokenExists: “a token named {name} exists already”
	TokenExists(name string) string
	// TokenNotFound: “no active token named {name}”
	TokenNotFound(name string) string
	// TokenMissing: “missing bearer token”
	TokenMissing() string
	// TokenInvalid: “invalid, expired or revoked token”
	TokenInvalid() string

	// ConsoleSignIn: “Sign in” (title and button of the console's one-time link page)
	ConsoleSignIn() string
	// ConsoleLinkPrompt: “Sign in with this one-time link.”
	ConsoleLinkPrompt() string
	// Built-in canned replies ("antwort 42 /name"; the configuration may replace them)

	// TemplateFixed: “The reported problem has been fixed. Thank you for letting us know!”
	TemplateFixed() string
	// TemplateOnOurWay: “We are on our way and will take care of it.”
	TemplateOnOurWay() string
	// TemplateNotResponsible: “Unfortunately the town is not responsible for this. Please contact the owner or the responsible authority.”
	TemplateNotResponsible() string
	// TemplateThanks: “Thank you for your report!”
	TemplateThanks() string
	// TemplateLocation: “Please send us the exact location (in Conversations: paper clip → location).”
	TemplateLocation() string

	// API problem titles (RFC 9457 §3.1.3 "title": one per problem type, the same for every occurrence in a language)

	// TitleInvalid: “Invalid request” (type urn:fieldgate:problem:invalid)
	TitleInvalid() string
	// TitleInvalidText: “Invalid text” (type urn:fieldgate:problem:invalid-text)
	TitleInvalidText() string
	// TitleInvalidFilter: “Invalid filter” (type urn:fieldgate:problem:invalid-filter)
	TitleInvalidFilter() string
	// TitleMultipart: “Malformed multipart body” (type urn:fieldgate:problem:multipart)
	TitleMultipart() string
	// TitleUnauthorized: “Not authenticated” (type urn:fieldgate:problem:unauthorized)
	TitleUnauthorized() string
	// TitleForbidden: “Forbidden” (type urn:fieldgate:problem:forbidden)
	TitleForbidden() string
	// TitleAddressNotAllowed: “Address not allowed for this token” (type urn:fieldgate:problem:address-not-allowed)
	TitleAddressNotAllowed() string
	// TitleCSRF: “Cross-site request refused” (type urn:fieldgate:problem:csrf)
	TitleCSRF() string
	// TitleNotFound: “Not found” (type urn:fieldgate:problem:not-found)
	TitleNotFound() string
	// TitleMethod: “Method not allowed” (type urn:fieldgate:problem:method)
	TitleMethod() string
	// TitleTooSlow: “Request too slow” (type urn:fieldgate:problem:too-slow)
	TitleTooSlow() string
	// TitleConflict: “Conflict with the case's state” (type urn:fieldgate:problem:conflict)
	TitleConflict() string
	// TitleBodyTooLarge: “Request body too large” (type urn:fieldgate:problem:body-too-large)
	TitleBodyTooLarge() string
	// TitleAttachmentTooLarge: “Attachment too large” (type urn:fieldgate:problem:attachment-too-large)
	TitleAttachmentTooLarge() string
	// TitleContentType: “Unsupported content type” (type urn:fieldgate:problem:content-type)
	TitleContentType() string
	// TitleAttachmentType: “Attachment type not allowed” (type urn:fieldgate:problem:attachment-type)
	TitleAttachmentType() string
	// TitleUnknownAddress: “Unknown function address” (type urn:fieldgate:problem:unknown-address)
	TitleUnknownAddress() string
	// TitleTooManyUploads: “Too many uploads at once” (type urn:fieldgate:problem:too-many-uploads)
	TitleTooManyUploads() string
	// TitleInternal: “Internal error” (type urn:fieldgate:problem:internal)
	TitleInternal() string
	// TitleUnavailable: “Service unavailable” (type urn:fieldgate:problem:unavailable)
	TitleUnavailable() string
	// TitleDatabaseUnavailable: “Database unavailable” (type urn:fieldgate:problem:database-unavailable)
	TitleDatabaseUnavailable() string
	// TitleStorageUnavailable: “Storage unavailable” (type urn:fieldgate:problem:storage-unavailable)
	TitleStorageUnavailable() string

	// API problem details (RFC 9457 "detail")

	// BodyTooLarge: “the request is larger than the configured limit of {limitBytes}” (limitBytes in bytes, shown in KiB/MiB/GiB)
	BodyTooLarge(limitBytes int64) string
	// ProblemAttachmentTooLarge: “An attachment of type {contentType} is larger than the {limitBytes} allowed for that type; nothing was stored.” (limitBytes in bytes, shown in KiB/MiB/GiB)
	ProblemAttachmentTooLarge(contentType string, limitBytes int64) string
	// ProblemAttachmentType: “The file type {contentType} of an attachment (detected from its content) is not allowed; allowed are {allowed}. Nothing was stored.”
	ProblemAttachmentType(contentType, allowed string) string
	// ProblemAttachmentUnknownType: “The file type of an attachment is not allowed: it is not recognised from its content; allowed are {allowed}. Nothing was stored.”
	ProblemAttachmentUnknownType(allowed string) string
	// ProblemAttachmentEmpty: “An attachment is empty; nothing was stored.”
	ProblemAttachmentEmpty() string
	// BodyTooSlow: “the request body arrived too slowly; send it again on a better connection”
	BodyTooSlow() string
	// TooManyUploads: “too many concurrent uploads from this client; wait for the running uploads to finish”
	TooManyUploads() string
	// StorageUnavailable: “media storage is not reachable; nothing was stored, retry later with the same Idempotency-Key”
	StorageUnavailable() string
	// DatabaseUnavailable: “the database is not reachable; nothing was stored, retry later with the same Idempotency-Key”
	DatabaseUnavailable() string
	// ServerFailed: “the server failed; the error has been logged”
	ServerFailed() string
	// StatsForbidden: “numbers need the dispatcher role or a team:<id> role”
	StatsForbidden() string
	// StatsDays: “days must be a whole number from {min} to {max}”
	StatsDays(min, max int) string
	// MetricsTokenMissing: “/metrics needs 'Authorization: Bearer <token>' of a token with the role metrics (fieldgate token create --role metrics), or set http.metrics_addr”
	MetricsTokenMissing() string
	// MetricsForbidden: “this token may not read metrics (role 'metrics' needed)”
	MetricsForbidden() string
	// MergeBody: “body must be JSON: {"into": "<case number>"}”
	MergeBody() string
	// CommandBody: “body must be JSON: {"team", "reason", "text"}”
	CommandBody() string
	// ReporterRoleNeeded: “this token may not file reports (role 'reporter' needed)”
	ReporterRoleNeeded() string
	// IdempotencyKeyLonger: “Idempotency-Key is longer than {max} characters”
	IdempotencyKeyLonger(max int) string
	// FieldHasNUL: “form field "{field}": NUL byte at offset {offset}”
	FieldHasNUL(field string, offset int) string
	// FieldNotUTF8: “form field "{field}": invalid UTF-8 at offset {offset}”
	FieldNotUTF8(field string, offset int) string
	// KeyHasNUL: “Idempotency-Key: NUL byte at offset {offset}”
	KeyHasNUL(offset int) string
	// KeyNotUTF8: “Idempotency-Key: invalid UTF-8 at offset {offset}”
	KeyNotUTF8(offset int) string
	// MultipartNeeded: “send the report as multipart/form-data (fields: to, text, photo, lat, lon)”
	MultipartNeeded() string
	// MalformedMultipart: “malformed multipart body: {detail}”
	MalformedMultipart(detail string) string
	// TooManyAttachmentsAtMost: “too many attachments: at most {max}”
	TooManyAttachmentsAtMost(max int) string
	// TokenAddressNotAllowed: “this token may not file reports to {address}: it is not a public address and not among the token's addresses (fieldgate token create --address)”
	TokenAddressNotAllowed(address string) string
	// UnknownFormField: “unknown form field {name} (expected to, text, photo, lat, lon, urgent, language)”
	UnknownFormField(name string) string
	// LatLonTogether: “lat and lon must be given together”
	LatLonTogether() string
	// LatLonRange: “lat/lon must be decimal degrees: lat in [-90,90], lon in [-180,180], not 0,0”
	LatLonRange() string
	// ReportNotFoundID: “report not found: no report with this id”
	ReportNotFoundID() string
	// AttachmentCount: “the report has {n} attachments”
	AttachmentCount(n int) string
	// NoThumbnail: “case {caseNumber} has no thumbnail (yet)”
	NoThumbnail(caseNumber string) string
	// ListForbidden: “listing incidents needs the dispatcher role or a team:<id> role”
	ListForbidden() string
	// NoSuchEndpoint: “no such endpoint”
	NoSuchEndpoint() string
	// MethodNotAllowed: “method not allowed on this endpoint”
	MethodNotAllowed() string
	// BearerMissing: “send 'Authorization: Bearer <token>'; create one with 'fieldgate token create'”
	BearerMissing() string
	// RequestNotText: “the path or a query parameter contains a NUL character or is not valid UTF-8”
	RequestNotText() string
	// EventsForbidden: “the event stream needs the dispatcher role or a team:<id> role”
	EventsForbidden() string
	// EventsDisabled: “the event stream is not enabled on this server”
	EventsDisabled() string
	// CSRFMissing: “a signed-in console request that changes something needs the X-CSRF-Token header of its session”
	CSRFMissing() string

	// FilterLimit: “limit must be a whole number from {min} to {max}”
	FilterLimit(min, max int) string
	// FilterDuration: “{name} must be a duration such as 90m, 12h or 3d”
	FilterDuration(name string) string

	// Open311 GeoReport v2 error descriptions (api/open311)

	// Open311Format: “unknown format: use the .xml or .json extension”
	Open311Format() string
	// Open311NoEndpoint: “no such endpoint”
	Open311NoEndpoint() string
	// Open311Jurisdiction: “jurisdiction_id {id} is not served here”
	Open311Jurisdiction(id string) string
	// Open311Malformed: “malformed request: {detail}”
	Open311Malformed(detail string) string
	// Open311APIKey: “api_key was not provided or is invalid”
	Open311APIKey() string
	// Open311APIKeyRole: “this api_key may not file requests (role reporter needed)”
	Open311APIKeyRole() string
	// Open311APIKeyAddress: “this api_key may not file to service {service}”
	Open311APIKeyAddress(service string) string
	// Open311UnknownService: “service_code {code} was not found”
	Open311UnknownService(code string) string
	// Open311NoLocation: “no location: send lat and long, or address_string”
	Open311NoLocation() string
	// Open311BadPosition: “lat/long must be decimal degrees (lat -90..90, long -180..180, not 0,0)”
	Open311BadPosition() string
	// Open311AttrUnknown: “attribute {attr} is not defined for service {service}”
	Open311AttrUnknown(attr, service string) string
	// Open311AttrRequired: “required attribute {attr} is missing”
	Open311AttrRequired(attr string) string
	// Open311AttrNumber: “attribute {attr} must be a number”
	Open311AttrNumber(attr string) string
	// Open311AttrDatetime: “attribute {attr} must be an ISO 8601 date-time with zone (e.g. 2026-11-30T08:15:00+01:00)”
	Open311AttrDatetime(attr string) string
	// Open311AttrValue: “attribute {attr}: {value} is not one of the allowed values ({allowed})”
	Open311AttrValue(attr, value, allowed string) string
	// Open311AttrTooLong: “attribute {attr} is too long (at most {max} characters)”
	Open311AttrTooLong(attr string, max int) string
	// Open311AttrOne: “attribute {attr} takes a single value”
	Open311AttrOne(attr string) string
	// Open311MediaURLOff: “media_url is not fetched by this server; upload the photo as the multipart field media”
	Open311MediaURLOff() string
	// URLHostNotAllowed: “host not allowed” (why a media_url was not fetched)
	URLHostNotAllowed() string
	// Open311MediaURLRefused: “media_url was not fetched: {reason}”
	Open311MediaURLRefused(reason string) string
	// Open311MediaType: “file type not allowed: {contentType}”
	Open311MediaType(contentType string) string
	// Open311MediaTooLarge: “file too large: at most {limitBytes}” (limitBytes in bytes, shown in KiB/MiB/GiB)
	Open311MediaTooLarge(limitBytes int64) string
	// Open311TooMany: “too many attachments (at most {max})”
	Open311TooMany(max int) string
	// Open311Field: “unknown field {name}”
	Open311Field(name string) string
	// Open311TooLong: “field {name} is too long”
	Open311TooLong(name string) string
	// Open311NotFound: “service request {id} was not found”
	Open311NotFound(id string) string
	// Open311TokenNotFound: “token {token} was not found”
	Open311TokenNotFound(token string) string
	// Open311Storage: “storage is unavailable; retry later”
	Open311Storage() string
	// Open311Internal: “internal error; it has been logged”
	Open311Internal() string
	// Open311BadDate: “{param} must be a date or date-time in W3C form, such as 2026-11-30 or 2026-11-30T08:00:00+01:00”
	Open311BadDate(param string) string
	// Open311BadStatus: “status must be open or closed”
	Open311BadStatus() string
	// Open311BadPage: “page and page_size must be positive whole numbers (page_size at most 1000)”
	Open311BadPage() string
	// Open311BadRadius: “lat, long and radius (metres, at most 50000) go together”
	Open311BadRadius() string
	// Open311TooManyIDs: “at most 100 service_request_id at once”
	Open311TooManyIDs() string
	// Open311ContactDropped: “Your contact data (email, phone, name) was not stored (data minimisation).”
	Open311ContactDropped() string
	// Open311InvalidReport: “request refused: {reason}”
	Open311InvalidReport(reason string) string
	// Open311BadText: “{field} contains a NUL character or is not valid UTF-8”
	Open311BadText(field string) string

	// Strict request input (HTTP API)

	// JSONContentType: “send the body as JSON with Content-Type: application/json”
	JSONContentType() string
	// JSONNotUTF8: “the JSON body is not valid UTF-8 (byte {offset})”
	JSONNotUTF8(offset int) string
	// JSONDuplicateMember: “JSON member "{name}" appears more than once”
	JSONDuplicateMember(name string) string
	// JSONUnknownMember: “unknown JSON member "{name}"; known: {known}”
	JSONUnknownMember(name, known string) string
	// JSONMemberNUL: “JSON member "{name}" contains a NUL character”
	JSONMemberNUL(name string) string
	// FieldTwice: “form field "{name}" appears more than once”
	FieldTwice(name string) string
	// UrgentValue: “urgent must be true or false (also 1/0, yes/no, on/off), not "{value}"”
	UrgentValue(value string) string
	// IdempotencyKeyReused: “this Idempotency-Key was used for report {caseNumber} with different content; use a new key for a new report”
	IdempotencyKeyReused(caseNumber string) string
	// AuthorizationTwice: “send one Authorization header, not several”
	AuthorizationTwice() string
	// TitleIdempotencyKeyReused: “Idempotency-Key reused” (type urn:fieldgate:problem:idempotency-key-reused)
	TitleIdempotencyKeyReused() string

	// EventName names an audit event kind (Event.Kind: "received",
	// "take", …) for a history; an unknown kind is returned as it is.
	EventName(kind string) string
}
