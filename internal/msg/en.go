package msg

import "fmt"

// en is the English catalogue.
type en struct{}

var _ Texts = en{}

// Reporter receipts and intake

func (en) Accepted(caseNumber, team string) string {
	return fmt.Sprintf("Report %s accepted – forwarded to %s.", caseNumber, team)
}

func (en) AcceptedDistrict(caseNumber, team, district string) string {
	return fmt.Sprintf("Report %s accepted – forwarded to %s (district %s).", caseNumber, team, district)
}

func (en) NeedLocation(caseNumber string) string {
	return fmt.Sprintf("Report %s has no location. Please share your location (Conversations: paper clip → location; Dino/Gajim: send a geo: link such as geo:51.0254,7.5919). Send photos as a file so their GPS data is kept.", caseNumber)
}

func (en) PartJoined(caseNumber string) string {
	return fmt.Sprintf("Added to report %s.", caseNumber)
}

func (en) LocationReceived(caseNumber string) string {
	return fmt.Sprintf("Location for report %s received.", caseNumber)
}

func (en) LocationTaken(caseNumber string) string {
	return fmt.Sprintf("Location for report %s received and passed on to whoever handles it.", caseNumber)
}

func (en) LocationMoved(caseNumber, team string) string {
	return fmt.Sprintf("Report %s: location received – forwarded to %s.", caseNumber, team)
}

func (en) LocationMovedDistrict(caseNumber, team, district string) string {
	return fmt.Sprintf("Report %s: location received – forwarded to %s (district %s).", caseNumber, team, district)
}

func (en) NotJoinedCaseTaken(prev, caseNumber string) string {
	return fmt.Sprintf("Report %s is already being handled, so your message is the new report %s.", prev, caseNumber)
}

func (en) NotJoinedCaseClosed(prev, caseNumber string) string {
	return fmt.Sprintf("Report %s is closed, so your message is the new report %s.", prev, caseNumber)
}

func (en) NotJoinedFarPosition(distanceM int, prev, caseNumber string) string {
	return fmt.Sprintf("Your message is %d m away from report %s and therefore the new report %s. If it belongs there after all, please tell the control room.", distanceM, prev, caseNumber)
}

func (en) NewNeedsContent() string {
	return "After “new”, please send the new report's text, a photo or the location."
}

func (en) PartSplitByReporter(caseNumber, newCase string) string {
	return fmt.Sprintf("Your last message was split off report %s and is now report %s of its own.", caseNumber, newCase)
}

func (en) UndoNotReady() string {
	return "Your last message is still being processed; please send “new” again in a moment."
}

func (en) PartSplitReporter(caseNumber, newCase string) string {
	return fmt.Sprintf("The control room split your latest message to report %s off into a report of its own, %s.", caseNumber, newCase)
}

func (en) TakenReporter(caseNumber, team string) string {
	return fmt.Sprintf("Your report %s is now being handled by %s.", caseNumber, team)
}

func (en) ResolvedReporter(caseNumber string) string {
	return fmt.Sprintf("Your report %s has been resolved. Thank you!", caseNumber)
}

func (en) ReassignedReporter(caseNumber, team string) string {
	return fmt.Sprintf("Your report %s has been forwarded to %s.", caseNumber, team)
}

func (en) RejectedReporter(caseNumber, reason string) string {
	return fmt.Sprintf("Your report %s is not our responsibility: %s", caseNumber, reason)
}

func (en) DupReporter(caseNumber, original string) string {
	return fmt.Sprintf("Your report %s concerns the same case as %s, which has already been reported. We added it there – thank you! If it is something else, answer “new” within 10 minutes.", caseNumber, original)
}

func (en) UnmergedReporter(caseNumber string) string {
	return fmt.Sprintf("Your report %s is now handled on its own.", caseNumber)
}

func (en) ReplyReporter(caseNumber, team, text string) string {
	return fmt.Sprintf("Reply to your report %s (%s):\n%s", caseNumber, team, text)
}

func (en) AckTimeoutOwner(caseNumber, held string) string {
	return fmt.Sprintf("⏰ You took %s %s ago; it is not resolved and has been released.", caseNumber, held)
}

// Team room posts and notes

func (en) PostHeader(caseNumber, team string) string {
	return fmt.Sprintf("Report %s · %s", caseNumber, team)
}

func (en) FollowupPost(caseNumber string) string {
	return fmt.Sprintf("📎 Addition to %s", caseNumber)
}

func (en) UrgentLabel() string {
	return "URGENT"
}

func (en) NoPosition() string {
	return "📍 Location being requested (asked the reporter)."
}

func (en) DistrictLabel(district string) string {
	return fmt.Sprintf("district %s", district)
}

func (en) ActionsTaken(resolveSeq int) string {
	return fmt.Sprintf("Resolve: “erledigt %d”", resolveSeq)
}

func (en) Actions(takeSeq, resolveSeq int) string {
	return fmt.Sprintf("Take: “ok %d” · Resolve: “erledigt %d”", takeSeq, resolveSeq)
}

func (en) PhotoLine(url string) string {
	return fmt.Sprintf("📷 %s", url)
}

func (en) AttachmentNoPreview(contentType string, sizeBytes int64, caseNumber string) string {
	return fmt.Sprintf("📎 Attachment %s, %s – no preview; available through the API/control room (case %s)", contentType, size(sizeBytes, "."), caseNumber)
}

func (en) PositionSource(sources string) string {
	return fmt.Sprintf("source: %s", sources)
}

func (en) SourceEXIF() string {
	return "photo (EXIF)"
}

func (en) SourceXMP() string {
	return "photo (XMP)"
}

func (en) SourceAPI() string {
	return "app"
}

func (en) SourceGeoURI() string {
	return "position in the message (geo: link, map link, coordinates)"
}

func (en) SourceXEP0080() string {
	return "shared location (XEP-0080)"
}

func (en) TwoPerson(confirmers int) string {
	return fmt.Sprintf("👥 Two-person rule: %d confirmations needed (“ok” from two people).", confirmers)
}

func (en) FlagPhotoOld(takenAt, age string) string {
	return fmt.Sprintf("Photo taken on %s, %s before it was received – is it current?", takenAt, age)
}

func (en) FlagPhotoFuture(takenAt string) string {
	return fmt.Sprintf("Photo taken on %s by the camera's clock, after it was received – is the camera's clock right?", takenAt)
}

func (en) FlagPositionsDisagree(distanceM int) string {
	return fmt.Sprintf("Positions disagree by %d m – please check.", distanceM)
}

func (en) FlagSplitFar(distanceM int, other string) string {
	return fmt.Sprintf("Reported %d m away from %s – handled as a case of its own.", distanceM, other)
}

func (en) LocationOwner(caseNumber, position string) string {
	return fmt.Sprintf("📍 Location for %s added: %s", caseNumber, position)
}

func (en) MovedOldRoom(caseNumber, team, reason string) string {
	return fmt.Sprintf("↪️ %s received a location and was forwarded to %s (%s).", caseNumber, team, reason)
}

func (en) TakenRoom(caseNumber, actor string) string {
	return fmt.Sprintf("✅ %s taken by %s.", caseNumber, actor)
}

func (en) ResolvedRoom(caseNumber, actor string) string {
	return fmt.Sprintf("☑️ %s resolved by %s.", caseNumber, actor)
}

func (en) TakenFirstRoom(caseNumber, actor string, seq int) string {
	return fmt.Sprintf("✅ %s taken by %s – a second confirmation is needed: “ok %d”", caseNumber, actor, seq)
}

func (en) ConfirmedRoom(caseNumber, actor, owner string) string {
	return fmt.Sprintf("✅ %s confirmed by %s – taken by %s, second confirmation given.", caseNumber, actor, owner)
}

func (en) EscReminder(caseNumber, since string, seq int) string {
	return fmt.Sprintf("⏰ Reminder: %s has not been taken for %s. Take: “ok %d”", caseNumber, since, seq)
}

func (en) EscRoom(level int, caseNumber, team, since, summary string, seq int) string {
	return fmt.Sprintf("🚨 Escalation level %d: %s (%s) has not been taken for %s.\n%s\nTake: “ok %d”", level, caseNumber, team, since, summary, seq)
}

func (en) EscChat(level int, caseNumber, team, since, summary string, seq int) string {
	return fmt.Sprintf("🚨 Escalation level %d: %s (%s) has not been taken for %s.\n%s\nTo take it, answer here with “ok %d”.", level, caseNumber, team, since, summary, seq)
}

func (en) EscNobody(caseNumber string, level int, schedule string) string {
	return fmt.Sprintf("⚠️ %s: level %d should alert the on-call person (%s), but nobody is on call.", caseNumber, level, schedule)
}

func (en) EscSecondMissing(owner string) string {
	return fmt.Sprintf("Confirmed by %s – the second confirmation is still missing.", owner)
}

func (en) AckTimeoutRoom(caseNumber, owner, held string, seq int) string {
	return fmt.Sprintf("⏰ %s was taken by %s but is still not resolved after %s – open again, escalation restarts. Take: “ok %d”", caseNumber, owner, held, seq)
}

func (en) ReassignedNew(caseNumber, team, actor, oldTeam, reason, history string) string {
	return fmt.Sprintf("↪️ %s reassigned to %s by %s (before: %s).%s\nHistory:\n%s", caseNumber, team, actor, oldTeam, reason, history)
}

func (en) ReassignedOld(caseNumber, team, actor, reason string) string {
	return fmt.Sprintf("↪️ %s handed over to %s by %s.%s", caseNumber, team, actor, reason)
}

func (en) ReasonSuffix(reason string) string {
	return fmt.Sprintf(" Reason: %s", reason)
}

func (en) RejectedRoom(caseNumber, actor, reason string) string {
	return fmt.Sprintf("⛔ %s rejected by %s: %s", caseNumber, actor, reason)
}

func (en) DupRoom(caseNumber, dupCase string, distanceM int, text string) string {
	return fmt.Sprintf("➕ +1 report on %s (%s, %d m away):\n%s", caseNumber, dupCase, distanceM, text)
}

func (en) UnmergedRoom(caseNumber, original string) string {
	return fmt.Sprintf("➖ %s is not a duplicate of %s after all and is handled on its own.", caseNumber, original)
}

func (en) ReplyRoom(caseNumber, actor string) string {
	return fmt.Sprintf("✉️ Reply on %s sent to the reporter (%s).", caseNumber, actor)
}

func (en) ReplyRoomJIDs(caseNumber, recipients, actor string) string {
	return fmt.Sprintf("✉️ Reply on %s sent to %s (%s).", caseNumber, recipients, actor)
}

// Answers to commands (room, 1:1 chat, API)

func (en) AlreadyTaken(caseNumber, owner string) string {
	return fmt.Sprintf("%s has already been taken by %s.", caseNumber, owner)
}

func (en) ReleasedRoom(caseNumber, actor string, seq int) string {
	return fmt.Sprintf("🔁 %s given back by %s – open again, escalation restarts. Take: “ok %d”", caseNumber, actor, seq)
}

func (en) NotYourTake(caseNumber string) string {
	return fmt.Sprintf("%s is not taken by you; only whoever took it (or the dispatch centre) can give it back.", caseNumber)
}

func (en) AlreadyConfirmed() string {
	return "You have already confirmed; a second person must confirm."
}

func (en) AlreadyClosed(caseNumber, state string) string {
	return fmt.Sprintf("%s is already closed (%s).", caseNumber, state)
}

func (en) NotYourTeam(caseNumber, team string) string {
	return fmt.Sprintf("%s belongs to team %s; only its members (and dispatchers) can handle it.", caseNumber, team)
}

func (en) NotYourRoom(caseNumber string) string {
	return fmt.Sprintf("%s does not belong to this room.", caseNumber)
}

func (en) NotAlerted(caseNumber string) string {
	return fmt.Sprintf("%s: you were not alerted for this case; please take it in the team room.", caseNumber)
}

func (en) UnknownCase(ref string) string {
	return fmt.Sprintf("No open case %s found.", ref)
}

func (en) MergedClosed(caseNumber, target string, targetSeq int) string {
	return fmt.Sprintf("%s is a duplicate of %s – please take that one (“ok %d”).", caseNumber, target, targetSeq)
}

func (en) DispatcherOnly() string {
	return "Only dispatchers may do that."
}

func (en) UnknownTeam(team, teams string) string {
	return fmt.Sprintf("No team “%s”. Teams: %s", team, teams)
}

func (en) SameTeam(caseNumber, team string) string {
	return fmt.Sprintf("%s is already with %s.", caseNumber, team)
}

func (en) ReassignedMeanwhile(caseNumber, team string) string {
	return fmt.Sprintf("%s is with %s by now (someone else just reassigned it); please check and reassign again if needed.", caseNumber, team)
}

func (en) ReassignedReply(caseNumber, team string) string {
	return fmt.Sprintf("%s reassigned to %s.", caseNumber, team)
}

func (en) RejectNeedsReason(seq int) string {
	return fmt.Sprintf("Please give a reason: “abgelehnt %d reason”.", seq)
}

func (en) RejectedReply(caseNumber string) string {
	return fmt.Sprintf("%s rejected.", caseNumber)
}

func (en) NotMerged(caseNumber string) string {
	return fmt.Sprintf("%s is not a duplicate.", caseNumber)
}

func (en) UnmergedReply(caseNumber string) string {
	return fmt.Sprintf("%s is handled on its own again.", caseNumber)
}

func (en) MergedReply(caseNumber, into string) string {
	return fmt.Sprintf("%s was merged into %s as a duplicate.", caseNumber, into)
}

func (en) MergeInvalid(caseNumber, into string) string {
	return fmt.Sprintf("%s cannot be merged into %s: both must be open and different.", caseNumber, into)
}

func (en) PartSplitReply(caseNumber, newCase string) string {
	return fmt.Sprintf("Latest part of %s split off: now report %s of its own.", caseNumber, newCase)
}

func (en) ReplyAPIOnly(caseNumber string) string {
	return fmt.Sprintf("%s was reported through the app/API: the reply is stored in its history, where the reporter can read it.", caseNumber)
}

func (en) ReplyEmpty(seq int, templates string) string {
	return fmt.Sprintf("Please give a text or a canned text: “antwort %d /erledigt”. Canned texts: %s", seq, templates)
}

func (en) UnknownTemplate(name, templates string) string {
	return fmt.Sprintf("No canned text “/%s”. Available: %s", name, templates)
}

// Units

func (en) UnitS() string {
	return "s"
}

func (en) UnitMin() string {
	return "min"
}

func (en) UnitH() string {
	return "h"
}

func (en) UnitD() string {
	return "d"
}

// Gateway replies to senders

func (en) NotAllowed(address string) string {
	return fmt.Sprintf("Sorry, you may not send reports to %s. Please contact your control room.", address)
}

func (en) ReportRejected(reason string) string {
	return fmt.Sprintf("Report not accepted: %s", reason)
}

func (en) TryAgain() string {
	return "The report could not be stored right now. Please send it again in a minute."
}

func (en) RateLimitedSpan(from, until string) string {
	return fmt.Sprintf("Too many messages in a short time: I did not take your messages sent from %[1]s to %[2]s (your messenger marks them as not delivered). Please send them again after %[2]s.", from, until)
}

func (en) RateLimited() string {
	return "Too many messages in a short time. Please wait a moment and send again."
}

func (en) AttachmentFailed(attachment string) string {
	return fmt.Sprintf("An attachment could not be taken (%s). The text was accepted; please send the attachment again.", attachment)
}

func (en) RoomNotMember() string {
	return "Only members of this team (and dispatchers) can take or handle reports here."
}

func (en) RoomAnonymous() string {
	return "I cannot tell who you are: the room must be non-anonymous."
}

func (en) GeoSuggest(bad, suggest string) string {
	return fmt.Sprintf("I did not take the location “%s”: in a geo: link a comma separates latitude and longitude, and decimals follow a point. Did you mean %s? Then please send it exactly like that.", bad, suggest)
}

func (en) AttachmentTooLarge() string { return "too large" }

func (en) AttachmentTooSlow() string { return "too slow" }

func (en) AttachmentTooMany() string { return "too many at once" }

func (en) AttachmentType() string { return "file type not allowed" }

func (en) AttachmentUnavailable() string { return "not retrievable" }

func (en) AttachmentTooLargeLimit(contentType string, limitBytes int64) string {
	return fmt.Sprintf("too large, at most %s for %s", size(limitBytes, "."), contentType)
}

func (en) AttachmentTypeDetected(contentType string) string {
	return fmt.Sprintf("file type %s not allowed", contentType)
}

func (en) AttachmentEmpty() string { return "empty file" }

func (en) GeoHint(bad, why string) string {
	return fmt.Sprintf("I did not take the location “%s” (%s). The right form is e.g. geo:51.0251,7.5919 – latitude, comma, longitude, decimals with a point. Or share your location with the paper clip.", bad, why)
}

func (en) GeoMalformed() string {
	return "not a valid geo: link"
}

func (en) GeoCommaDecimal() string {
	return "decimal comma instead of a point"
}

func (en) GeoImprecise() string {
	return "whole degrees only, too imprecise"
}

func (en) GeoOutOfRange() string {
	return "out of range"
}

func (en) GeoOtherCRS() string {
	return "coordinate system other than WGS 84"
}

func (en) AttachmentNotTaken(attachment string) string {
	return fmt.Sprintf("An attachment could not be taken (%s); its link is kept as text in the report.", attachment)
}

func (en) RoomPrivateHint() string {
	return "Here I only understand commands such as “ok 42”, “erledigt 42” or “antwort 42 text”. Please send reports to a function address, and write everything else in the room."
}

func (en) LanguageChosen() string {
	return "From now on I answer you in English. (Write “deutsch” for German.)"
}

func (en) RetractNotSupported() string {
	return "A sent message cannot be withdrawn here: your report stays as it is. If something in it was wrong, please write briefly what."
}

func (en) CorrectionPrefix() string { return "✏️ Correction:" }

func (en) GeoShortLink() string {
	return "a short link; fieldgate opens no links, so it cannot see the position in it"
}

func (en) GeoCoarseLink() string {
	return "the map link names an area, not a place"
}

func (en) GeoLocationInvalid() string {
	return "the shared location (XEP-0080) has no valid latitude and longitude"
}

func (en) AttachmentHostNotAllowed(host string) string {
	return fmt.Sprintf("The file at %s was not fetched: fieldgate only takes files from the upload services of approved servers. The link is kept as text in the report; please send the photo as a file through your own account.", host)
}

func (en) GeoOnlyHint() string {
	return "Nothing was stored."
}

func (en) UnknownAddressXMPP(addresses string) string {
	return fmt.Sprintf("Unknown address. Valid addresses: %s", addresses)
}

func (en) InternalError() string {
	return "Internal error, please try again."
}

// Domain errors (what a request or command did wrong)

func (en) MissingAddress() string {
	return "missing function address (field 'to')"
}

func (en) UnknownAddress(address, valid string) string {
	return fmt.Sprintf("unknown function address %q; valid addresses: %s", address, valid)
}

func (en) AddressNotAllowed(address string) string {
	return fmt.Sprintf("sender may not write to %q", address)
}

func (en) UnknownChannel(channel string) string {
	return fmt.Sprintf("unknown channel %q", channel)
}

func (en) MissingSender() string {
	return "missing sender"
}

func (en) TextNotUTF8() string {
	return "text is not valid UTF-8"
}

func (en) TextHasNUL() string {
	return "text contains a NUL character"
}

func (en) FieldBadText(field string) string {
	return fmt.Sprintf("field %q contains a NUL character or is not valid UTF-8", field)
}

func (en) TextTooLong(n, max int) string {
	return fmt.Sprintf("text too long: %d characters, at most %d", n, max)
}

func (en) EmptyReport() string {
	return "empty report: send a text, a photo or a location"
}

func (en) TooManyAttachments(n, max int) string {
	return fmt.Sprintf("too many attachments: %d, at most %d", n, max)
}

func (en) PositionOutOfRange() string {
	return "position out of range: lat must be in [-90,90], lon in [-180,180], and not 0,0"
}

func (en) IdempotencyKeyTooLong(max int) string {
	return fmt.Sprintf("idempotency key too long (at most %d characters)", max)
}

func (en) ReplyTooLong(n, max int) string {
	return fmt.Sprintf("reply too long: %d characters, at most %d", n, max)
}

func (en) ReportNotFound() string {
	return "report not found"
}

func (en) IncidentNotFound() string {
	return "incident not found"
}

func (en) NotACaseNumber(ref string) string {
	return fmt.Sprintf("not a case number: %q", ref)
}

func (en) NotAnIncidentPost() string {
	return "that message is not an incident post"
}

func (en) StateTransition(from, to string) string {
	return fmt.Sprintf("incident state %s cannot become %s", from, to)
}

func (en) UnknownDeliveryKind(kind string) string {
	return fmt.Sprintf("unknown delivery kind %q", kind)
}

func (en) ListLimit(min, max int) string {
	return fmt.Sprintf("limit must be between %d and %d", min, max)
}

func (en) ListUrgency() string {
	return "urgency must be low, normal, high or urgent"
}

func (en) ListStatus() string {
	return "status must be open, closed or all"
}

func (en) ListUnknownState(state string) string {
	return fmt.Sprintf("unknown state %q", state)
}

func (en) ListSearchTooLong(max int) string {
	return fmt.Sprintf("search text is longer than %d characters", max)
}

func (en) ListBadCursor() string {
	return "cursor is not one this server issued"
}

func (en) StatsBy() string {
	return "stats: by must be team, district or week"
}

func (en) TokenAddress(address string) string {
	return fmt.Sprintf("address %q: give the local part of a function address (tiefbau), or * for all", address)
}

func (en) TokenName() string {
	return "token name must be 1-64 characters without spaces or colons"
}

func (en) TokenRole(role string) string {
	return fmt.Sprintf("unknown role %q (reporter, dispatcher, metrics, team:<id>)", role)
}

func (en) TokenNoRole() string {
	return "a token needs at least one role"
}

func (en) TokenSecretShort(min int) string {
	return fmt.Sprintf("a given token secret must be at least %d characters", min)
}

func (en) TokenExists(name string) string {
	return fmt.Sprintf("a token named %q exists already", name)
}

func (en) TokenNotFound(name string) string {
	return fmt.Sprintf("no active token named %q", name)
}

func (en) TokenMissing() string {
	return "missing bearer token"
}

func (en) TokenInvalid() string {
	return "invalid, expired or revoked token"
}

// API problem titles

func (en) TitleInvalid() string { return "Invalid request" }

func (en) TitleInvalidText() string { return "Invalid text" }

func (en) TitleInvalidFilter() string { return "Invalid filter" }

func (en) TitleMultipart() string { return "Malformed multipart body" }

func (en) TitleUnauthorized() string { return "Not authenticated" }

func (en) TitleForbidden() string { return "Forbidden" }

func (en) TitleAddressNotAllowed() string { return "Address not allowed for this token" }

func (en) TitleCSRF() string { return "Cross-site request refused" }

func (en) TitleNotFound() string { return "Not found" }

func (en) TitleMethod() string { return "Method not allowed" }

func (en) TitleTooSlow() string { return "Request too slow" }

func (en) TitleConflict() string { return "Conflict with the case's state" }

func (en) TitleBodyTooLarge() string { return "Request body too large" }

func (en) TitleAttachmentTooLarge() string { return "Attachment too large" }

func (en) TitleContentType() string { return "Unsupported content type" }

func (en) TitleAttachmentType() string { return "Attachment type not allowed" }

func (en) TitleUnknownAddress() string { return "Unknown function address" }

func (en) TitleTooManyUploads() string { return "Too many uploads at once" }

func (en) TitleInternal() string { return "Internal error" }

func (en) TitleUnavailable() string { return "Service unavailable" }

func (en) TitleDatabaseUnavailable() string { return "Database unavailable" }

func (en) TitleStorageUnavailable() string { return "Storage unavailable" }

// API problem details

func (en) BodyTooLarge(limitBytes int64) string {
	return fmt.Sprintf("the request is larger than the configured limit of %s", size(limitBytes, "."))
}

func (en) ProblemAttachmentTooLarge(contentType string, limitBytes int64) string {
	return fmt.Sprintf("An attachment of type %s is larger than the %s allowed for that type; nothing was stored.", contentType, size(limitBytes, "."))
}

func (en) ProblemAttachmentType(contentType, allowed string) string {
	return fmt.Sprintf("The file type %s of an attachment (detected from its content) is not allowed; allowed are %s. Nothing was stored.", contentType, allowed)
}

func (en) ProblemAttachmentUnknownType(allowed string) string {
	return fmt.Sprintf("The file type of an attachment is not allowed: it is not recognised from its content; allowed are %s. Nothing was stored.", allowed)
}

func (en) ProblemAttachmentEmpty() string {
	return "An attachment is empty; nothing was stored."
}

func (en) BodyTooSlow() string {
	return "the request body arrived too slowly; send it again on a better connection"
}

func (en) TooManyUploads() string {
	return "too many concurrent uploads from this client; wait for the running uploads to finish"
}

func (en) StorageUnavailable() string {
	return "media storage is not reachable; nothing was stored, retry later with the same Idempotency-Key"
}

func (en) DatabaseUnavailable() string {
	return "the database is not reachable; nothing was stored, retry later with the same Idempotency-Key"
}

func (en) ServerFailed() string {
	return "the server failed; the error has been logged"
}

func (en) StatsForbidden() string {
	return "numbers need the dispatcher role or a team:<id> role"
}

func (en) StatsDays(min, max int) string {
	return fmt.Sprintf("days must be a whole number from %d to %d", min, max)
}

func (en) MetricsTokenMissing() string {
	return "/metrics needs 'Authorization: Bearer <token>' of a token with the role metrics (fieldgate token create --role metrics), or set http.metrics_addr"
}

func (en) MetricsForbidden() string {
	return "this token may not read metrics (role 'metrics' needed)"
}

func (en) MergeBody() string {
	return "body must be JSON: {\"into\": \"<case number>\"}"
}

func (en) CommandBody() string {
	return "body must be JSON: {\"team\", \"reason\", \"text\"}"
}

func (en) ReporterRoleNeeded() string {
	return "this token may not file reports (role 'reporter' needed)"
}

func (en) IdempotencyKeyLonger(max int) string {
	return fmt.Sprintf("Idempotency-Key is longer than %d characters", max)
}

func (en) FieldHasNUL(field string, offset int) string {
	return fmt.Sprintf("form field %q: NUL byte at offset %d", field, offset)
}

func (en) KeyHasNUL(offset int) string {
	return fmt.Sprintf("Idempotency-Key: NUL byte at offset %d", offset)
}

func (en) KeyNotUTF8(offset int) string {
	return fmt.Sprintf("Idempotency-Key: invalid UTF-8 at offset %d", offset)
}

func (en) FieldNotUTF8(field string, offset int) string {
	return fmt.Sprintf("form field %q: invalid UTF-8 at offset %d", field, offset)
}

func (en) MultipartNeeded() string {
	return "send the report as multipart/form-data (fields: to, text, photo, lat, lon)"
}

func (en) MalformedMultipart(detail string) string {
	return fmt.Sprintf("malformed multipart body: %s", detail)
}

func (en) TooManyAttachmentsAtMost(max int) string {
	return fmt.Sprintf("too many attachments: at most %d", max)
}

func (en) TokenAddressNotAllowed(address string) string {
	return fmt.Sprintf("this token may not file reports to %q: it is not a public address and not among the token's addresses (fieldgate token create --address)", address)
}

func (en) UnknownFormField(name string) string {
	return fmt.Sprintf("unknown form field %q (expected to, text, photo, lat, lon, urgent, language)", name)
}

func (en) LatLonTogether() string {
	return "lat and lon must be given together"
}

func (en) LatLonRange() string {
	return "lat/lon must be decimal degrees: lat in [-90,90], lon in [-180,180], not 0,0"
}

func (en) ReportNotFoundID() string {
	return "report not found: no report with this id"
}

func (en) AttachmentCount(n int) string {
	return fmt.Sprintf("the report has %d attachments", n)
}

func (en) NoThumbnail(caseNumber string) string {
	return fmt.Sprintf("case %s has no thumbnail (yet)", caseNumber)
}

func (en) ListForbidden() string {
	return "listing incidents needs the dispatcher role or a team:<id> role"
}

func (en) NoSuchEndpoint() string {
	return "no such endpoint"
}

func (en) MethodNotAllowed() string {
	return "method not allowed on this endpoint"
}

func (en) BearerMissing() string {
	return "send 'Authorization: Bearer <token>'; create one with 'fieldgate token create'"
}

func (en) RequestNotText() string {
	return "the path or a query parameter contains a NUL character or is not valid UTF-8"
}

func (en) EventsForbidden() string {
	return "the event stream needs the dispatcher role or a team:<id> role"
}

func (en) EventsDisabled() string {
	return "the event stream is not enabled on this server"
}

func (en) CSRFMissing() string {
	return "a signed-in console request that changes something needs the X-CSRF-Token header of its session"
}
func (en) FilterLimit(min, max int) string {
	return fmt.Sprintf("limit must be a whole number from %d to %d", min, max)
}

func (en) FilterDuration(name string) string {
	return fmt.Sprintf("%s must be a duration such as 90m, 12h or 3d", name)
}

// Encrypted conversations (OMEMO, XEP-0384)

func (en) OMEMOKeyChanged(device int, fingerprint string) string {
	fp := ""
	if fingerprint != "" {
		fp = " (" + fingerprint + ")"
	}
	return fmt.Sprintf("The key of your device %d has changed (for example after reinstalling the messenger). To protect your reports I read nothing encrypted with it until the town's IT has confirmed the new key. Your message was NOT accepted. Please show IT the fingerprint of your device%s as your messenger shows it; until then send without encryption if your town allows it.", device, fp)
}

func (en) OMEMOUndecryptable() string {
	return "Your encrypted message could not be read and was NOT accepted as a report. Please renegotiate encryption (in Conversations: contact details → OMEMO keys) and send the message again."
}

func (en) OMEMONotForUs() string {
	return "Your message was not encrypted for this address's current device and was NOT accepted. Please refresh the contact's device list and send again."
}

func (en) OMEMOFileFailed() string {
	return "An encrypted file could not be taken (download or check failed). The message was NOT accepted; please send it again."
}

func (en) OMEMORequired() string {
	return "This address accepts encrypted reports only. Your message was NOT accepted: please switch on OMEMO encryption and send it again."
}

func (en) OMEMORoomUndecryptable() string {
	return "fieldgate could not read your encrypted message and did NOT act on it. Please refresh the OMEMO device list and send it again."
}

func (en) OMEMOUnsupported() string {
	return "fieldgate cannot read this encryption (OMEMO only, as in Conversations, Monal, Dino and Gajim). Your message was NOT accepted: please send it again with OMEMO or unencrypted."
}

func (en) OMEMORoomFile(image int) string {
	return fmt.Sprintf("🔒 Image %d: sent encrypted as a separate message", image)
}

func (en) OMEMORoomFileFailed(image int) string {
	return fmt.Sprintf("Image %d could not be sent encrypted into the room; available through the API/control room", image)
}

func (en) OMEMOOff() string {
	return "This address cannot read encrypted messages. Please send the report unencrypted."
}

func (en) OMEMOFallback() string {
	return "[OMEMO encrypted message – your client cannot show it]"
}

// Open311 GeoReport v2 error descriptions

func (en) Open311Format() string {
	return "unknown format: use the .xml or .json extension"
}

func (en) Open311NoEndpoint() string {
	return "no such endpoint"
}

func (en) Open311Jurisdiction(id string) string {
	return fmt.Sprintf("jurisdiction_id %q is not served here", id)
}

func (en) Open311Malformed(detail string) string {
	return fmt.Sprintf("malformed request: %s", detail)
}

func (en) Open311APIKey() string {
	return "api_key was not provided or is invalid"
}

func (en) Open311APIKeyRole() string {
	return "this api_key may not file requests (role reporter needed)"
}

func (en) Open311APIKeyAddress(service string) string {
	return fmt.Sprintf("this api_key may not file to service %q", service)
}

func (en) Open311UnknownService(code string) string {
	return fmt.Sprintf("service_code %q was not found", code)
}

func (en) Open311NoLocation() string {
	return "no location: send lat and long, or address_string"
}

func (en) Open311BadPosition() string {
	return "lat/long must be decimal degrees (lat -90..90, long -180..180, not 0,0)"
}

func (en) Open311AttrUnknown(attr, service string) string {
	return fmt.Sprintf("attribute %q is not defined for service %q", attr, service)
}

func (en) Open311AttrRequired(attr string) string {
	return fmt.Sprintf("required attribute %q is missing", attr)
}

func (en) Open311AttrNumber(attr string) string {
	return fmt.Sprintf("attribute %q must be a number", attr)
}

func (en) Open311AttrDatetime(attr string) string {
	return fmt.Sprintf("attribute %q must be an ISO 8601 date-time with zone (e.g. 2026-11-30T08:15:00+01:00)", attr)
}

func (en) Open311AttrValue(attr, value, allowed string) string {
	return fmt.Sprintf("attribute %q: %q is not one of the allowed values (%s)", attr, value, allowed)
}

func (en) Open311AttrTooLong(attr string, max int) string {
	return fmt.Sprintf("attribute %q is too long (at most %d characters)", attr, max)
}

func (en) Open311AttrOne(attr string) string {
	return fmt.Sprintf("attribute %q takes a single value", attr)
}

func (en) Open311MediaURLOff() string {
	return "media_url is not fetched by this server; upload the photo as the multipart field media"
}

func (en) URLHostNotAllowed() string { return "host not allowed" }

func (en) Open311MediaURLRefused(reason string) string {
	return fmt.Sprintf("media_url was not fetched: %s", reason)
}

func (en) Open311MediaType(contentType string) string {
	return fmt.Sprintf("file type not allowed: %s", contentType)
}

func (en) Open311MediaTooLarge(limitBytes int64) string {
	return fmt.Sprintf("file too large: at most %s", size(limitBytes, "."))
}

func (en) Open311TooMany(max int) string {
	return fmt.Sprintf("too many attachments (at most %d)", max)
}

func (en) Open311Field(name string) string {
	return fmt.Sprintf("unknown field %q", name)
}

func (en) Open311TooLong(name string) string {
	return fmt.Sprintf("field %q is too long", name)
}

func (en) Open311NotFound(id string) string {
	return fmt.Sprintf("service request %q was not found", id)
}

func (en) Open311TokenNotFound(token string) string {
	return fmt.Sprintf("token %q was not found", token)
}

func (en) Open311Storage() string {
	return "storage is unavailable; retry later"
}

func (en) Open311Internal() string {
	return "internal error; it has been logged"
}

func (en) Open311BadDate(param string) string {
	return fmt.Sprintf("%s must be a date or date-time in W3C form, such as 2026-11-30 or 2026-11-30T08:00:00+01:00", param)
}

func (en) Open311BadStatus() string {
	return "status must be open or closed"
}

func (en) Open311BadPage() string {
	return "page and page_size must be positive whole numbers (page_size at most 1000)"
}

func (en) Open311BadRadius() string {
	return "lat, long and radius (metres, at most 50000) go together"
}

func (en) Open311TooManyIDs() string {
	return "at most 100 service_request_id at once"
}

func (en) Open311ContactDropped() string {
	return "Your contact data (email, phone, name) was not stored (data minimisation)."
}

func (en) Open311InvalidReport(reason string) string {
	return fmt.Sprintf("request refused: %s", reason)
}

func (en) Open311BadText(field string) string {
	return fmt.Sprintf("%q contains a NUL character or is not valid UTF-8", field)
}

// Console and built-in canned replies

func (en) ConsoleSignIn() string     { return "Sign in" }
func (en) ConsoleLinkPrompt() string { return "Sign in with this one-time link." }

func (en) TemplateFixed() string {
	return "The reported problem has been fixed. Thank you for letting us know!"
}
func (en) TemplateOnOurWay() string { return "We are on our way and will take care of it." }
func (en) TemplateNotResponsible() string {
	return "Unfortunately the town is not responsible for this. Please contact the owner or the responsible authority."
}
func (en) TemplateThanks() string { return "Thank you for your report!" }
func (en) TemplateLocation() string {
	return "Please send us the exact location (in Conversations: paper clip → location)."
}

// Strict request input (HTTP API)

func (en) JSONContentType() string {
	return "send the body as JSON with Content-Type: application/json"
}
func (en) JSONNotUTF8(offset int) string {
	return fmt.Sprintf("the JSON body is not valid UTF-8 (byte %d)", offset)
}
func (en) JSONDuplicateMember(name string) string {
	return fmt.Sprintf("JSON member %q appears more than once", name)
}
func (en) JSONUnknownMember(name, known string) string {
	return fmt.Sprintf("unknown JSON member %q; known: %s", name, known)
}
func (en) JSONMemberNUL(name string) string {
	return fmt.Sprintf("JSON member %q contains a NUL character", name)
}
func (en) FieldTwice(name string) string {
	return fmt.Sprintf("form field %q appears more than once", name)
}
func (en) UrgentValue(value string) string {
	return fmt.Sprintf("urgent must be true or false (also 1/0, yes/no, on/off), not %q", value)
}
func (en) IdempotencyKeyReused(caseNumber string) string {
	return fmt.Sprintf("this Idempotency-Key was used for report %s with different content; use a new key for a new report", caseNumber)
}
func (en) AuthorizationTwice() string        { return "send one Authorization header, not several" }
func (en) TitleIdempotencyKeyReused() string { return "Idempotency-Key reused" }
