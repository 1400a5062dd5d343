package msg

import "fmt"

// de is the German (default) catalogue.
type de struct{}

var _ Texts = de{}

// Reporter receipts and intake

func (de) Accepted(caseNumber, team string) string {
	return fmt.Sprintf("Meldung %s angenommen – weitergeleitet an %s.", caseNumber, team)
}

func (de) AcceptedDistrict(caseNumber, team, district string) string {
	return fmt.Sprintf("Meldung %s angenommen – weitergeleitet an %s (Bezirk %s).", caseNumber, team, district)
}

func (de) NeedLocation(caseNumber string) string {
	return fmt.Sprintf("Für Meldung %s fehlt der Standort. Bitte teilen Sie Ihren Standort (in Conversations: Büroklammer → Standort; in Dino/Gajim: einen geo:-Link wie geo:51.0254,7.5919 senden). Fotos als Datei senden, damit die GPS-Daten erhalten bleiben.", caseNumber)
}

func (de) PartJoined(caseNumber string) string {
	return fmt.Sprintf("Zu Meldung %s hinzugefügt.", caseNumber)
}

func (de) LocationReceived(caseNumber string) string {
	return fmt.Sprintf("Standort zu Meldung %s erhalten.", caseNumber)
}

func (de) LocationTaken(caseNumber string) string {
	return fmt.Sprintf("Standort zu Meldung %s erhalten und an die Bearbeitung weitergegeben.", caseNumber)
}

func (de) LocationMoved(caseNumber, team string) string {
	return fmt.Sprintf("Meldung %s: Standort erhalten – weitergeleitet an %s.", caseNumber, team)
}

func (de) LocationMovedDistrict(caseNumber, team, district string) string {
	return fmt.Sprintf("Meldung %s: Standort erhalten – weitergeleitet an %s (Bezirk %s).", caseNumber, team, district)
}

func (de) NotJoinedCaseTaken(prev, caseNumber string) string {
	return fmt.Sprintf("Meldung %s wird bereits bearbeitet, daher ist Ihre Nachricht die neue Meldung %s.", prev, caseNumber)
}

func (de) NotJoinedCaseClosed(prev, caseNumber string) string {
	return fmt.Sprintf("Meldung %s ist abgeschlossen, daher ist Ihre Nachricht die neue Meldung %s.", prev, caseNumber)
}

func (de) NotJoinedFarPosition(distanceM int, prev, caseNumber string) string {
	return fmt.Sprintf("Ihre Nachricht liegt %d m von Meldung %s entfernt und ist daher die neue Meldung %s. Gehört sie doch dazu, sagen Sie es bitte der Leitstelle.", distanceM, prev, caseNumber)
}

func (de) NewNeedsContent() string {
	return "Nach „neu“ bitte den Text, ein Foto oder den Standort der neuen Meldung senden."
}

func (de) PartSplitByReporter(caseNumber, newCase string) string {
	return fmt.Sprintf("Ihre letzte Nachricht ist von Meldung %s abgetrennt und jetzt die eigene Meldung %s.", caseNumber, newCase)
}

func (de) UndoNotReady() string {
	return "Ihre letzte Nachricht wird noch verarbeitet; bitte „neu“ gleich noch einmal senden."
}

func (de) PartSplitReporter(caseNumber, newCase string) string {
	return fmt.Sprintf("Die Leitstelle hat Ihre letzte Nachricht zu Meldung %s als eigene Meldung %s abgetrennt.", caseNumber, newCase)
}

func (de) TakenReporter(caseNumber, team string) string {
	return fmt.Sprintf("Ihre Meldung %s wird jetzt von %s bearbeitet.", caseNumber, team)
}

func (de) ResolvedReporter(caseNumber string) string {
	return fmt.Sprintf("Ihre Meldung %s wurde erledigt. Vielen Dank!", caseNumber)
}

func (de) ReassignedReporter(caseNumber, team string) string {
	return fmt.Sprintf("Ihre Meldung %s wurde an %s weitergeleitet.", caseNumber, team)
}

func (de) RejectedReporter(caseNumber, reason string) string {
	return fmt.Sprintf("Ihre Meldung %s liegt nicht in unserer Zuständigkeit: %s", caseNumber, reason)
}

func (de) DupReporter(caseNumber, original string) string {
	return fmt.Sprintf("Ihre Meldung %s betrifft denselben Fall wie %s, der bereits gemeldet ist. Wir haben sie dort angefügt – vielen Dank! Ist es doch etwas anderes, antworten Sie innerhalb von 10 Minuten „neu“.", caseNumber, original)
}

func (de) UnmergedReporter(caseNumber string) string {
	return fmt.Sprintf("Ihre Meldung %s wird nun eigenständig bearbeitet.", caseNumber)
}

func (de) ReplyReporter(caseNumber, team, text string) string {
	return fmt.Sprintf("Antwort zu Ihrer Meldung %s (%s):\n%s", caseNumber, team, text)
}

func (de) AckTimeoutOwner(caseNumber, held string) string {
	return fmt.Sprintf("⏰ Sie haben %s vor %s übernommen; der Fall ist nicht erledigt und wurde wieder freigegeben.", caseNumber, held)
}

// Team room posts and notes

func (de) PostHeader(caseNumber, team string) string {
	return fmt.Sprintf("Meldung %s · %s", caseNumber, team)
}

func (de) FollowupPost(caseNumber string) string {
	return fmt.Sprintf("📎 Nachtrag zu %s", caseNumber)
}

func (de) UrgentLabel() string {
	return "DRINGEND"
}

func (de) NoPosition() string {
	return "📍 Standort wird erfragt (beim Melder angefragt)."
}

func (de) DistrictLabel(district string) string {
	return fmt.Sprintf("Bezirk %s", district)
}

func (de) ActionsTaken(resolveSeq int) string {
	return fmt.Sprintf("Erledigt: „erledigt %d“", resolveSeq)
}

func (de) Actions(takeSeq, resolveSeq int) string {
	return fmt.Sprintf("Übernehmen: „ok %d“ · Erledigt: „erledigt %d“", takeSeq, resolveSeq)
}

func (de) PhotoLine(url string) string {
	return fmt.Sprintf("📷 %s", url)
}

func (de) AttachmentNoPreview(contentType string, sizeBytes int64, caseNumber string) string {
	return fmt.Sprintf("📎 Anhang %s, %s – keine Vorschau; abrufbar über die API/Leitstelle (Fall %s)", contentType, size(sizeBytes, ","), caseNumber)
}

func (de) PositionSource(sources string) string {
	return fmt.Sprintf("Quelle: %s", sources)
}

func (de) SourceEXIF() string {
	return "Foto (EXIF)"
}

func (de) SourceXMP() string {
	return "Foto (XMP)"
}

func (de) SourceAPI() string {
	return "App"
}

func (de) SourceGeoURI() string {
	return "Ortsangabe in der Nachricht (geo:-Link, Kartenlink, Koordinaten)"
}

func (de) SourceXEP0080() string {
	return "Standortfreigabe (XEP-0080)"
}

func (de) TwoPerson(confirmers int) string {
	return fmt.Sprintf("👥 Zwei-Personen-Regel: %d Bestätigungen nötig („ok“ von zwei Personen).", confirmers)
}

func (de) FlagPhotoOld(takenAt, age string) string {
	return fmt.Sprintf("Foto aufgenommen am %s, %s vor Eingang – ist es aktuell?", takenAt, age)
}

func (de) FlagPhotoFuture(takenAt string) string {
	return fmt.Sprintf("Foto laut Kamera aufgenommen am %s, also nach Eingang – stimmt die Uhr der Kamera?", takenAt)
}

func (de) FlagPositionsDisagree(distanceM int) string {
	return fmt.Sprintf("Standortangaben weichen um %d m voneinander ab – bitte prüfen.", distanceM)
}

func (de) FlagSplitFar(distanceM int, other string) string {
	return fmt.Sprintf("%d m von %s entfernt gemeldet – als eigene Meldung geführt.", distanceM, other)
}

func (de) LocationOwner(caseNumber, position string) string {
	return fmt.Sprintf("📍 Standort zu %s nachgereicht: %s", caseNumber, position)
}

func (de) MovedOldRoom(caseNumber, team, reason string) string {
	return fmt.Sprintf("↪️ %s hat einen Standort erhalten und wurde an %s weitergeleitet (%s).", caseNumber, team, reason)
}

func (de) TakenRoom(caseNumber, actor string) string {
	return fmt.Sprintf("✅ %s übernommen von %s.", caseNumber, actor)
}

func (de) ResolvedRoom(caseNumber, actor string) string {
	return fmt.Sprintf("☑️ %s erledigt von %s.", caseNumber, actor)
}

func (de) TakenFirstRoom(caseNumber, actor string, seq int) string {
	return fmt.Sprintf("✅ %s übernommen von %s – zweite Bestätigung nötig: „ok %d“", caseNumber, actor, seq)
}

func (de) ConfirmedRoom(caseNumber, actor, owner string) string {
	return fmt.Sprintf("✅ %s bestätigt von %s – übernommen von %s, zweite Bestätigung erteilt.", caseNumber, actor, owner)
}

func (de) EscReminder(caseNumber, since string, seq int) string {
	return fmt.Sprintf("⏰ Erinnerung: %s ist seit %s nicht übernommen. Übernehmen mit „ok %d“", caseNumber, since, seq)
}

func (de) EscRoom(level int, caseNumber, team, since, summary string, seq int) string {
	return fmt.Sprintf("🚨 Eskalation Stufe %d: %s (%s) ist seit %s nicht übernommen.\n%s\nÜbernehmen mit „ok %d“", level, caseNumber, team, since, summary, seq)
}

func (de) EscChat(level int, caseNumber, team, since, summary string, seq int) string {
	return fmt.Sprintf("🚨 Eskalation Stufe %d: %s (%s) ist seit %s nicht übernommen.\n%s\nÜbernehmen: hier mit „ok %d“ antworten.", level, caseNumber, team, since, summary, seq)
}

func (de) EscNobody(caseNumber string, level int, schedule string) string {
	return fmt.Sprintf("⚠️ %s: Stufe %d sollte die Bereitschaft (%s) alarmieren, aber niemand hat Dienst.", caseNumber, level, schedule)
}

func (de) EscSecondMissing(owner string) string {
	return fmt.Sprintf("Bestätigt von %s – die zweite Bestätigung fehlt noch.", owner)
}

func (de) AckTimeoutRoom(caseNumber, owner, held string, seq int) string {
	return fmt.Sprintf("⏰ %s wurde von %s übernommen, ist aber seit %s nicht erledigt – wieder offen, die Eskalation beginnt erneut. Übernehmen mit „ok %d“", caseNumber, owner, held, seq)
}

func (de) ReassignedNew(caseNumber, team, actor, oldTeam, reason, history string) string {
	return fmt.Sprintf("↪️ %s an %s weitergeleitet von %s (vorher: %s).%s\nVerlauf:\n%s", caseNumber, team, actor, oldTeam, reason, history)
}

func (de) ReassignedOld(caseNumber, team, actor, reason string) string {
	return fmt.Sprintf("↪️ %s an %s weitergegeben von %s.%s", caseNumber, team, actor, reason)
}

func (de) ReasonSuffix(reason string) string {
	return fmt.Sprintf(" Grund: %s", reason)
}

func (de) RejectedRoom(caseNumber, actor, reason string) string {
	return fmt.Sprintf("⛔ %s abgelehnt von %s: %s", caseNumber, actor, reason)
}

func (de) DupRoom(caseNumber, dupCase string, distanceM int, text string) string {
	return fmt.Sprintf("➕ +1 Meldung zu %s (%s, %d m entfernt):\n%s", caseNumber, dupCase, distanceM, text)
}

func (de) UnmergedRoom(caseNumber, original string) string {
	return fmt.Sprintf("➖ %s ist doch kein Duplikat von %s und wird eigenständig bearbeitet.", caseNumber, original)
}

func (de) ReplyRoom(caseNumber, actor string) string {
	return fmt.Sprintf("✉️ Antwort zu %s an den Melder gesendet (%s).", caseNumber, actor)
}

func (de) ReplyRoomJIDs(caseNumber, recipients, actor string) string {
	return fmt.Sprintf("✉️ Antwort zu %s an %s gesendet (%s).", caseNumber, recipients, actor)
}

// Answers to commands (room, 1:1 chat, API)

func (de) AlreadyTaken(caseNumber, owner string) string {
	return fmt.Sprintf("%s ist bereits von %s übernommen.", caseNumber, owner)
}

func (de) ReleasedRoom(caseNumber, actor string, seq int) string {
	return fmt.Sprintf("🔁 %s von %s zurückgegeben – wieder offen, die Eskalation beginnt erneut. Übernehmen mit „ok %d“", caseNumber, actor, seq)
}

func (de) NotYourTake(caseNumber string) string {
	return fmt.Sprintf("%s ist nicht von Ihnen übernommen; zurückgeben kann nur, wer den Fall übernommen hat (oder die Leitstelle).", caseNumber)
}

func (de) AlreadyConfirmed() string {
	return "Sie haben bereits bestätigt; eine zweite Person muss bestätigen."
}

func (de) AlreadyClosed(caseNumber, state string) string {
	return fmt.Sprintf("%s ist bereits abgeschlossen (%s).", caseNumber, state)
}

func (de) NotYourTeam(caseNumber, team string) string {
	return fmt.Sprintf("%s gehört zum Team %s; nur dessen Mitglieder (und die Leitstelle) können den Fall bearbeiten.", caseNumber, team)
}

func (de) NotYourRoom(caseNumber string) string {
	return fmt.Sprintf("%s gehört nicht zu diesem Raum.", caseNumber)
}

func (de) NotAlerted(caseNumber string) string {
	return fmt.Sprintf("%s: Sie wurden für diesen Fall nicht alarmiert; bitte im Teamraum übernehmen.", caseNumber)
}

func (de) UnknownCase(ref string) string {
	return fmt.Sprintf("Keinen offenen Fall %s gefunden.", ref)
}

func (de) MergedClosed(caseNumber, target string, targetSeq int) string {
	return fmt.Sprintf("%s ist ein Duplikat von %s – bitte dort übernehmen („ok %d“).", caseNumber, target, targetSeq)
}

func (de) DispatcherOnly() string {
	return "Nur Disponenten (Leitstelle) dürfen das."
}

func (de) UnknownTeam(team, teams string) string {
	return fmt.Sprintf("Kein Team „%s“. Teams: %s", team, teams)
}

func (de) SameTeam(caseNumber, team string) string {
	return fmt.Sprintf("%s ist bereits bei %s.", caseNumber, team)
}

func (de) ReassignedMeanwhile(caseNumber, team string) string {
	return fmt.Sprintf("%s ist inzwischen bei %s (jemand anderes hat den Fall gerade weitergeleitet); bitte prüfen und bei Bedarf erneut weiterleiten.", caseNumber, team)
}

func (de) ReassignedReply(caseNumber, team string) string {
	return fmt.Sprintf("%s an %s weitergeleitet.", caseNumber, team)
}

func (de) RejectNeedsReason(seq int) string {
	return fmt.Sprintf("Bitte einen Grund angeben: „abgelehnt %d Grund“.", seq)
}

func (de) RejectedReply(caseNumber string) string {
	return fmt.Sprintf("%s abgelehnt.", caseNumber)
}

func (de) NotMerged(caseNumber string) string {
	return fmt.Sprintf("%s ist kein Duplikat.", caseNumber)
}

func (de) UnmergedReply(caseNumber string) string {
	return fmt.Sprintf("%s wird wieder eigenständig bearbeitet.", caseNumber)
}

func (de) MergedReply(caseNumber, into string) string {
	return fmt.Sprintf("%s wurde als Duplikat mit %s zusammengeführt.", caseNumber, into)
}

func (de) MergeInvalid(caseNumber, into string) string {
	return fmt.Sprintf("%s kann nicht mit %s zusammengeführt werden: beide müssen offen und verschieden sein.", caseNumber, into)
}

func (de) PartSplitReply(caseNumber, newCase string) string {
	return fmt.Sprintf("Letzter Teil von %s abgetrennt: jetzt eigene Meldung %s.", caseNumber, newCase)
}

func (de) ReplyAPIOnly(caseNumber string) string {
	return fmt.Sprintf("%s wurde über die App/API gemeldet: die Antwort ist im Verlauf gespeichert, der Melder kann sie dort abrufen.", caseNumber)
}

func (de) ReplyEmpty(seq int, templates string) string {
	return fmt.Sprintf("Bitte einen Text oder Textbaustein angeben: „antwort %d /erledigt“. Bausteine: %s", seq, templates)
}

func (de) UnknownTemplate(name, templates string) string {
	return fmt.Sprintf("Keinen Textbaustein „/%s“. Vorhanden: %s", name, templates)
}

// Units

func (de) UnitS() string {
	return "Sek."
}

func (de) UnitMin() string {
	return "Min."
}

func (de) UnitH() string {
	return "Std."
}

func (de) UnitD() string {
	return "Tg."
}

// Gateway replies to senders

func (de) NotAllowed(address string) string {
	return fmt.Sprintf("Entschuldigung, Sie dürfen an %s keine Meldungen senden. Bitte wenden Sie sich an Ihre Leitstelle.", address)
}

func (de) ReportRejected(reason string) string {
	return fmt.Sprintf("Meldung nicht angenommen: %s", reason)
}

func (de) TryAgain() string {
	return "Die Meldung konnte gerade nicht gespeichert werden. Bitte in einer Minute erneut senden."
}

func (de) RateLimitedSpan(from, until string) string {
	return fmt.Sprintf("Zu viele Nachrichten in kurzer Zeit: Ihre Nachrichten von %[1]s bis %[2]s habe ich nicht angenommen (Ihr Messenger zeigt sie als nicht zugestellt). Bitte senden Sie sie ab %[2]s erneut.", from, until)
}

func (de) RateLimited() string {
	return "Zu viele Nachrichten in kurzer Zeit. Bitte kurz warten und dann erneut senden."
}

func (de) AttachmentFailed(attachment string) string {
	return fmt.Sprintf("Ein Anhang konnte nicht übernommen werden (%s). Der Text wurde angenommen; bitte den Anhang erneut senden.", attachment)
}

func (de) RoomNotMember() string {
	return "Nur Mitglieder dieses Teams (und die Leitstelle) können hier Meldungen übernehmen oder bearbeiten."
}

func (de) RoomAnonymous() string {
	return "Ich kann Sie keiner Adresse zuordnen: der Raum muss nicht-anonym sein."
}

func (de) GeoSuggest(bad, suggest string) string {
	return fmt.Sprintf("Den Standort „%s“ habe ich nicht übernommen: im geo:-Link trennt ein Komma Breite und Länge, Dezimalstellen stehen nach einem Punkt. Meinten Sie %s? Dann senden Sie ihn bitte genau so.", bad, suggest)
}

func (de) AttachmentTooLarge() string { return "zu groß" }

func (de) AttachmentTooSlow() string { return "zu langsam" }

func (de) AttachmentTooMany() string { return "zu viele gleichzeitig" }

func (de) AttachmentType() string { return "Dateityp nicht erlaubt" }

func (de) AttachmentUnavailable() string { return "nicht abrufbar" }

func (de) AttachmentTooLargeLimit(contentType string, limitBytes int64) string {
	return fmt.Sprintf("zu groß, höchstens %s für %s", size(limitBytes, ","), contentType)
}

func (de) AttachmentTypeDetected(contentType string) string {
	return fmt.Sprintf("Dateityp %s nicht erlaubt", contentType)
}

func (de) AttachmentEmpty() string { return "leere Datei" }

func (de) GeoHint(bad, why string) string {
	return fmt.Sprintf("Den Standort „%s“ habe ich nicht übernommen (%s). Richtig ist z. B. geo:51.0251,7.5919 – Breite, Komma, Länge, Dezimalstellen mit Punkt. Oder teilen Sie Ihren Standort über die Büroklammer.", bad, why)
}

func (de) GeoMalformed() string {
	return "kein gültiger geo:-Link"
}

func (de) GeoCommaDecimal() string {
	return "Dezimalkomma statt Punkt"
}

func (de) GeoImprecise() string {
	return "nur ganze Grad, zu ungenau"
}

func (de) GeoOutOfRange() string {
	return "außerhalb des gültigen Bereichs"
}

func (de) GeoOtherCRS() string {
	return "anderes Koordinatensystem als WGS 84"
}

func (de) AttachmentNotTaken(attachment string) string {
	return fmt.Sprintf("Ein Anhang konnte nicht übernommen werden (%s); sein Link steht als Text in der Meldung.", attachment)
}

func (de) RoomPrivateHint() string {
	return "Hier verstehe ich nur Befehle wie „ok 42“, „erledigt 42“ oder „antwort 42 Text“. Meldungen bitte an eine Funktionsadresse senden, alles andere im Raum schreiben."
}

func (de) LanguageChosen() string {
	return "Ab jetzt antworte ich Ihnen auf Deutsch. (Für Englisch schreiben Sie „english“.)"
}

func (de) RetractNotSupported() string {
	return "Eine gesendete Nachricht kann hier nicht zurückgezogen werden: Ihre Meldung bleibt bestehen. Wenn darin etwas falsch war, schreiben Sie bitte kurz, was."
}

func (de) CorrectionPrefix() string { return "✏️ Korrektur:" }

func (de) GeoShortLink() string {
	return "ein Kurzlink; fieldgate öffnet keine Links und sieht den Standort darin deshalb nicht"
}

func (de) GeoCoarseLink() string {
	return "der Kartenlink nennt ein Gebiet, keinen Ort"
}

func (de) GeoLocationInvalid() string {
	return "der geteilte Standort (XEP-0080) hat keine gültige Breite und Länge"
}

func (de) AttachmentHostNotAllowed(host string) string {
	return fmt.Sprintf("Die Datei bei %s wurde nicht abgerufen: fieldgate übernimmt Dateien nur von den Upload-Diensten freigegebener Server. Der Link steht als Text in der Meldung; bitte das Foto als Datei über Ihr eigenes Konto senden.", host)
}

func (de) GeoOnlyHint() string {
	return "Es wurde nichts gespeichert."
}

func (de) UnknownAddressXMPP(addresses string) string {
	return fmt.Sprintf("Unbekannte Adresse. Gültige Adressen: %s", addresses)
}

func (de) InternalError() string {
	return "Interner Fehler, bitte erneut versuchen."
}

// Domain errors (what a request or command did wrong)

func (de) MissingAddress() string {
	return "Die Funktionsadresse fehlt (Feld „to“)."
}

func (de) UnknownAddress(address, valid string) string {
	return fmt.Sprintf("Unbekannte Funktionsadresse „%s“; gültige Adressen: %s", address, valid)
}

func (de) AddressNotAllowed(address string) string {
	return fmt.Sprintf("Dieser Absender darf nicht an „%s“ schreiben.", address)
}

func (de) UnknownChannel(channel string) string {
	return fmt.Sprintf("Unbekannter Kanal „%s“.", channel)
}

func (de) MissingSender() string {
	return "Der Absender fehlt."
}

func (de) TextNotUTF8() string {
	return "Der Text ist kein gültiges UTF-8."
}

func (de) TextHasNUL() string {
	return "Der Text enthält ein NUL-Zeichen."
}

func (de) FieldBadText(field string) string {
	return fmt.Sprintf("Das Feld „%s“ enthält ein NUL-Zeichen oder ist kein gültiges UTF-8.", field)
}

func (de) TextTooLong(n, max int) string {
	return fmt.Sprintf("Text zu lang: %d Zeichen, höchstens %d.", n, max)
}

func (de) EmptyReport() string {
	return "Leere Meldung: bitte einen Text, ein Foto oder den Standort senden."
}

func (de) TooManyAttachments(n, max int) string {
	return fmt.Sprintf("Zu viele Anhänge: %d, höchstens %d.", n, max)
}

func (de) PositionOutOfRange() string {
	return "Standort außerhalb des gültigen Bereichs: Breite in [-90,90], Länge in [-180,180], nicht 0,0."
}

func (de) IdempotencyKeyTooLong(max int) string {
	return fmt.Sprintf("Idempotency-Key zu lang (höchstens %d Zeichen).", max)
}

func (de) ReplyTooLong(n, max int) string {
	return fmt.Sprintf("Antwort zu lang: %d Zeichen, höchstens %d.", n, max)
}

func (de) ReportNotFound() string {
	return "Meldung nicht gefunden."
}

func (de) IncidentNotFound() string {
	return "Fall nicht gefunden."
}

func (de) NotACaseNumber(ref string) string {
	return fmt.Sprintf("Keine Fallnummer: „%s“.", ref)
}

func (de) NotAnIncidentPost() string {
	return "Diese Nachricht ist keine Fallmeldung."
}

func (de) StateTransition(from, to string) string {
	return fmt.Sprintf("Ein Fall im Zustand %s kann nicht %s werden.", from, to)
}

func (de) UnknownDeliveryKind(kind string) string {
	return fmt.Sprintf("Unbekannte Zustellart „%s“.", kind)
}

func (de) ListLimit(min, max int) string {
	return fmt.Sprintf("limit muss zwischen %d und %d liegen.", min, max)
}

func (de) ListUrgency() string {
	return "urgency muss low, normal, high oder urgent sein."
}

func (de) ListStatus() string {
	return "status muss open, closed oder all sein."
}

func (de) ListUnknownState(state string) string {
	return fmt.Sprintf("Unbekannter Zustand „%s“.", state)
}

func (de) ListSearchTooLong(max int) string {
	return fmt.Sprintf("Der Suchtext ist länger als %d Zeichen.", max)
}

func (de) ListBadCursor() string {
	return "Dieser Cursor stammt nicht von diesem Server."
}

func (de) StatsBy() string {
	return "stats: by muss team, district oder week sein."
}

func (de) TokenAddress(address string) string {
	return fmt.Sprintf("Adresse „%s“: bitte den lokalen Teil einer Funktionsadresse (tiefbau) angeben, oder * für alle.", address)
}

func (de) TokenName() string {
	return "Ein Token-Name hat 1–64 Zeichen ohne Leerzeichen und Doppelpunkte."
}

func (de) TokenRole(role string) string {
	return fmt.Sprintf("Unbekannte Rolle „%s“ (reporter, dispatcher, metrics, team:<id>).", role)
}

func (de) TokenNoRole() string {
	return "Ein Token braucht mindestens eine Rolle."
}

func (de) TokenSecretShort(min int) string {
	return fmt.Sprintf("Ein vorgegebenes Token-Geheimnis muss mindestens %d Zeichen haben.", min)
}

func (de) TokenExists(name string) string {
	return fmt.Sprintf("Ein Token „%s“ gibt es bereits.", name)
}

func (de) TokenNotFound(name string) string {
	return fmt.Sprintf("Kein aktives Token „%s“.", name)
}

func (de) TokenMissing() string {
	return "Das Bearer-Token fehlt."
}

func (de) TokenInvalid() string {
	return "Token ungültig, abgelaufen oder widerrufen."
}

// API problem titles

func (de) TitleInvalid() string { return "Ungültige Anfrage" }

func (de) TitleInvalidText() string { return "Ungültiger Text" }

func (de) TitleInvalidFilter() string { return "Ungültiger Filter" }

func (de) TitleMultipart() string { return "Fehlerhafter Multipart-Inhalt" }

func (de) TitleUnauthorized() string { return "Nicht angemeldet" }

func (de) TitleForbidden() string { return "Nicht erlaubt" }

func (de) TitleAddressNotAllowed() string { return "Adresse für dieses Token nicht erlaubt" }

func (de) TitleCSRF() string { return "Websiteübergreifende Anfrage abgelehnt" }

func (de) TitleNotFound() string { return "Nicht gefunden" }

func (de) TitleMethod() string { return "Methode nicht erlaubt" }

func (de) TitleTooSlow() string { return "Anfrage zu langsam" }

func (de) TitleConflict() string { return "Widerspruch zum Stand des Falls" }

func (de) TitleBodyTooLarge() string { return "Anfrage zu groß" }

func (de) TitleAttachmentTooLarge() string { return "Anhang zu groß" }

func (de) TitleContentType() string { return "Inhaltstyp nicht unterstützt" }

func (de) TitleAttachmentType() string { return "Dateityp des Anhangs nicht erlaubt" }

func (de) TitleUnknownAddress() string { return "Unbekannte Funktionsadresse" }

func (de) TitleTooManyUploads() string { return "Zu viele Uploads gleichzeitig" }

func (de) TitleInternal() string { return "Interner Fehler" }

func (de) TitleUnavailable() string { return "Dienst nicht verfügbar" }

func (de) TitleDatabaseUnavailable() string { return "Datenbank nicht erreichbar" }

func (de) TitleStorageUnavailable() string { return "Speicher nicht erreichbar" }

// API problem details

func (de) BodyTooLarge(limitBytes int64) string {
	return fmt.Sprintf("Die Anfrage ist größer als die eingestellte Grenze von %s.", size(limitBytes, ","))
}

func (de) ProblemAttachmentTooLarge(contentType string, limitBytes int64) string {
	return fmt.Sprintf("Ein Anhang vom Typ %s ist größer als die für diesen Typ erlaubten %s; nichts wurde gespeichert.", contentType, size(limitBytes, ","))
}

func (de) ProblemAttachmentType(contentType, allowed string) string {
	return fmt.Sprintf("Der Dateityp %s eines Anhangs (am Inhalt erkannt) ist nicht erlaubt; erlaubt sind %s. Nichts wurde gespeichert.", contentType, allowed)
}

func (de) ProblemAttachmentUnknownType(allowed string) string {
	return fmt.Sprintf("Der Dateityp eines Anhangs ist nicht erlaubt: er ist an seinem Inhalt nicht zu erkennen; erlaubt sind %s. Nichts wurde gespeichert.", allowed)
}

func (de) ProblemAttachmentEmpty() string {
	return "Ein Anhang ist leer; nichts wurde gespeichert."
}

func (de) BodyTooSlow() string {
	return "Der Inhalt der Anfrage kam zu langsam an; bitte über eine bessere Verbindung erneut senden."
}

func (de) TooManyUploads() string {
	return "Zu viele gleichzeitige Uploads dieses Clients; bitte warten, bis die laufenden fertig sind."
}

func (de) StorageUnavailable() string {
	return "Der Medienspeicher ist nicht erreichbar; nichts wurde gespeichert. Bitte später mit demselben Idempotency-Key erneut senden."
}

func (de) DatabaseUnavailable() string {
	return "Die Datenbank ist nicht erreichbar; nichts wurde gespeichert. Bitte später mit demselben Idempotency-Key erneut senden."
}

func (de) ServerFailed() string {
	return "Fehler im Server; er wurde protokolliert."
}

func (de) StatsForbidden() string {
	return "Zahlen brauchen die Rolle dispatcher oder team:<id>."
}

func (de) StatsDays(min, max int) string {
	return fmt.Sprintf("days muss eine ganze Zahl von %d bis %d sein.", min, max)
}

func (de) MetricsTokenMissing() string {
	return "/metrics braucht „Authorization: Bearer <token>“ eines Tokens mit der Rolle metrics (fieldgate token create --role metrics), oder http.metrics_addr."
}

func (de) MetricsForbidden() string {
	return "Dieses Token darf keine Metriken lesen (Rolle metrics nötig)."
}

func (de) MergeBody() string {
	return "Der Inhalt muss JSON sein: {\"into\": \"<Fallnummer>\"}"
}

func (de) CommandBody() string {
	return "Der Inhalt muss JSON sein: {\"team\", \"reason\", \"text\"}"
}

func (de) ReporterRoleNeeded() string {
	return "Dieses Token darf keine Meldungen einreichen (Rolle reporter nötig)."
}

func (de) IdempotencyKeyLonger(max int) string {
	return fmt.Sprintf("Der Idempotency-Key ist länger als %d Zeichen.", max)
}

func (de) FieldHasNUL(field string, offset int) string {
	return fmt.Sprintf("Formularfeld „%s“: NUL-Byte an Stelle %d.", field, offset)
}

func (de) KeyHasNUL(offset int) string {
	return fmt.Sprintf("Idempotency-Key: NUL-Byte an Stelle %d.", offset)
}

func (de) KeyNotUTF8(offset int) string {
	return fmt.Sprintf("Idempotency-Key: kein gültiges UTF-8 ab Stelle %d.", offset)
}

func (de) FieldNotUTF8(field string, offset int) string {
	return fmt.Sprintf("Formularfeld „%s“: kein gültiges UTF-8 ab Stelle %d.", field, offset)
}

func (de) MultipartNeeded() string {
	return "Bitte die Meldung als multipart/form-data senden (Felder: to, text, photo, lat, lon)."
}

func (de) MalformedMultipart(detail string) string {
	return fmt.Sprintf("Fehlerhafter multipart-Inhalt: %s", detail)
}

func (de) TooManyAttachmentsAtMost(max int) string {
	return fmt.Sprintf("Zu viele Anhänge: höchstens %d.", max)
}

func (de) TokenAddressNotAllowed(address string) string {
	return fmt.Sprintf("Dieses Token darf keine Meldungen an „%s“ einreichen: die Adresse ist nicht öffentlich und nicht unter den Adressen des Tokens (fieldgate token create --address).", address)
}

func (de) UnknownFormField(name string) string {
	return fmt.Sprintf("Unbekanntes Formularfeld „%s“ (erwartet: to, text, photo, lat, lon, urgent, language).", name)
}

func (de) LatLonTogether() string {
	return "lat und lon müssen zusammen angegeben werden."
}

func (de) LatLonRange() string {
	return "lat/lon in Dezimalgrad: lat in [-90,90], lon in [-180,180], nicht 0,0."
}

func (de) ReportNotFoundID() string {
	return "Meldung nicht gefunden: keine Meldung mit dieser ID."
}

func (de) AttachmentCount(n int) string {
	return fmt.Sprintf("Die Meldung hat %d Anhänge.", n)
}

func (de) NoThumbnail(caseNumber string) string {
	return fmt.Sprintf("Fall %s hat (noch) kein Vorschaubild.", caseNumber)
}

func (de) ListForbidden() string {
	return "Die Fallliste braucht die Rolle dispatcher oder team:<id>."
}

func (de) NoSuchEndpoint() string {
	return "Diesen Endpunkt gibt es nicht."
}

func (de) MethodNotAllowed() string {
	return "Diese Methode ist an diesem Endpunkt nicht erlaubt."
}

func (de) BearerMissing() string {
	return "Bitte „Authorization: Bearer <token>“ senden; ein Token erstellt „fieldgate token create“."
}

func (de) RequestNotText() string {
	return "Pfad oder Abfrageparameter enthalten ein NUL-Zeichen oder kein gültiges UTF-8."
}

func (de) EventsForbidden() string {
	return "Der Ereignisstrom braucht die Rolle dispatcher oder team:<id>."
}

func (de) EventsDisabled() string {
	return "Der Ereignisstrom ist auf diesem Server nicht eingeschaltet."
}

func (de) CSRFMissing() string {
	return "Eine angemeldete Konsolen-Anfrage, die etwas ändert, braucht den X-CSRF-Token-Header ihrer Sitzung."
}
func (de) FilterLimit(min, max int) string {
	return fmt.Sprintf("limit muss eine ganze Zahl von %d bis %d sein.", min, max)
}

func (de) FilterDuration(name string) string {
	return fmt.Sprintf("%s muss eine Dauer wie 90m, 12h oder 3d sein.", name)
}

// Encrypted conversations (OMEMO, XEP-0384)

func (de) OMEMOKeyChanged(device int, fingerprint string) string {
	fp := ""
	if fingerprint != "" {
		fp = " (" + fingerprint + ")"
	}
	return fmt.Sprintf("Der Schlüssel Ihres Geräts %d hat sich geändert (z. B. nach einer Neuinstallation des Messengers). Zum Schutz Ihrer Meldungen lese ich damit Verschlüsseltes erst, wenn die IT der Stadt den neuen Schlüssel bestätigt hat. Ihre Nachricht wurde NICHT angenommen. Bitte zeigen Sie der IT den Fingerabdruck Ihres Geräts%s, wie Ihr Messenger ihn anzeigt; bis dahin bitte unverschlüsselt senden, wenn Ihre Stadt das erlaubt.", device, fp)
}

func (de) OMEMOUndecryptable() string {
	return "Ihre verschlüsselte Nachricht konnte nicht gelesen werden und wurde NICHT als Meldung angenommen. Bitte Verschlüsselung neu aushandeln (in Conversations: Kontaktdetails → OMEMO-Schlüssel) und die Nachricht erneut senden."
}

func (de) OMEMONotForUs() string {
	return "Ihre Nachricht war nicht für das aktuelle Gerät dieser Adresse verschlüsselt und wurde NICHT angenommen. Bitte die Geräteliste des Kontakts aktualisieren und erneut senden."
}

func (de) OMEMOFileFailed() string {
	return "Eine verschlüsselte Datei konnte nicht übernommen werden (Download oder Prüfung fehlgeschlagen). Die Nachricht wurde NICHT angenommen; bitte erneut senden."
}

func (de) OMEMORequired() string {
	return "Diese Adresse nimmt nur verschlüsselte Meldungen an. Ihre Nachricht wurde NICHT angenommen: bitte OMEMO-Verschlüsselung einschalten und erneut senden."
}

func (de) OMEMORoomUndecryptable() string {
	return "Ihre verschlüsselte Nachricht konnte von fieldgate nicht gelesen werden und wurde NICHT ausgeführt. Bitte OMEMO-Geräteliste aktualisieren und erneut senden."
}

func (de) OMEMOUnsupported() string {
	return "Diese Verschlüsselung kann fieldgate nicht lesen (nur OMEMO, wie in Conversations, Monal, Dino und Gajim). Ihre Nachricht wurde NICHT angenommen: bitte mit OMEMO oder unverschlüsselt erneut senden."
}

func (de) OMEMORoomFile(image int) string {
	return fmt.Sprintf("🔒 Bild %d: verschlüsselt als eigene Nachricht gesendet", image)
}

func (de) OMEMORoomFileFailed(image int) string {
	return fmt.Sprintf("Bild %d konnte nicht verschlüsselt in den Raum gesendet werden; abrufbar über die API/Leitstelle", image)
}

func (de) OMEMOOff() string {
	return "Diese Adresse kann verschlüsselte Nachrichten nicht lesen. Bitte die Meldung unverschlüsselt senden."
}

func (de) OMEMOFallback() string {
	return "[OMEMO-verschlüsselte Nachricht – Ihr Messenger kann sie nicht anzeigen]"
}

// Open311 GeoReport v2 error descriptions

func (de) Open311Format() string {
	return "Unbekanntes Format: Endung .xml oder .json verwenden"
}

func (de) Open311NoEndpoint() string {
	return "Diesen Endpunkt gibt es nicht"
}

func (de) Open311Jurisdiction(id string) string {
	return fmt.Sprintf("jurisdiction_id %q ist hier unbekannt", id)
}

func (de) Open311Malformed(detail string) string {
	return fmt.Sprintf("Anfrage nicht lesbar: %s", detail)
}

func (de) Open311APIKey() string {
	return "api_key fehlt oder ist ungültig"
}

func (de) Open311APIKeyRole() string {
	return "Dieser api_key darf keine Meldungen einreichen (Rolle reporter nötig)"
}

func (de) Open311APIKeyAddress(service string) string {
	return fmt.Sprintf("Dieser api_key darf den Dienst %q nicht nutzen", service)
}

func (de) Open311UnknownService(code string) string {
	return fmt.Sprintf("service_code %q nicht gefunden", code)
}

func (de) Open311NoLocation() string {
	return "Ort fehlt: lat und long oder address_string angeben"
}

func (de) Open311BadPosition() string {
	return "lat/long müssen Dezimalgrad sein (lat -90..90, long -180..180, nicht 0,0)"
}

func (de) Open311AttrUnknown(attr, service string) string {
	return fmt.Sprintf("Attribut %q gibt es beim Dienst %q nicht", attr, service)
}

func (de) Open311AttrRequired(attr string) string {
	return fmt.Sprintf("Pflichtattribut %q fehlt", attr)
}

func (de) Open311AttrNumber(attr string) string {
	return fmt.Sprintf("Attribut %q muss eine Zahl sein", attr)
}

func (de) Open311AttrDatetime(attr string) string {
	return fmt.Sprintf("Attribut %q muss ein Zeitpunkt nach ISO 8601 mit Zeitzone sein (z. B. 2026-11-30T08:15:00+01:00)", attr)
}

func (de) Open311AttrValue(attr, value, allowed string) string {
	return fmt.Sprintf("Attribut %q: %q ist keiner der erlaubten Werte (%s)", attr, value, allowed)
}

func (de) Open311AttrTooLong(attr string, max int) string {
	return fmt.Sprintf("Attribut %q ist zu lang (höchstens %d Zeichen)", attr, max)
}

func (de) Open311AttrOne(attr string) string {
	return fmt.Sprintf("Attribut %q erlaubt nur einen Wert", attr)
}

func (de) Open311MediaURLOff() string {
	return "media_url wird hier nicht abgerufen; das Foto bitte als multipart-Feld media hochladen"
}

func (de) URLHostNotAllowed() string { return "Server nicht erlaubt" }

func (de) Open311MediaURLRefused(reason string) string {
	return fmt.Sprintf("media_url wurde nicht abgerufen: %s", reason)
}

func (de) Open311MediaType(contentType string) string {
	return fmt.Sprintf("Dateityp nicht erlaubt: %s", contentType)
}

func (de) Open311MediaTooLarge(limitBytes int64) string {
	return fmt.Sprintf("Datei zu groß: höchstens %s", size(limitBytes, ","))
}

func (de) Open311TooMany(max int) string {
	return fmt.Sprintf("Zu viele Anhänge (höchstens %d)", max)
}

func (de) Open311Field(name string) string {
	return fmt.Sprintf("Unbekanntes Feld %q", name)
}

func (de) Open311TooLong(name string) string {
	return fmt.Sprintf("Feld %q ist zu lang", name)
}

func (de) Open311NotFound(id string) string {
	return fmt.Sprintf("Meldung %q nicht gefunden", id)
}

func (de) Open311TokenNotFound(token string) string {
	return fmt.Sprintf("Token %q nicht gefunden", token)
}

func (de) Open311Storage() string {
	return "Speicher vorübergehend nicht erreichbar; bitte später erneut senden"
}

func (de) Open311Internal() string {
	return "Interner Fehler; er wurde protokolliert"
}

func (de) Open311BadDate(param string) string {
	return fmt.Sprintf("%s muss ein Datum oder Zeitpunkt in W3C-Form sein, etwa 2026-11-30 oder 2026-11-30T08:00:00+01:00", param)
}

func (de) Open311BadStatus() string {
	return "status muss open oder closed sein"
}

func (de) Open311BadPage() string {
	return "page und page_size müssen positive ganze Zahlen sein (page_size höchstens 1000)"
}

func (de) Open311BadRadius() string {
	return "lat, long und radius (Meter, höchstens 50000) gehören zusammen"
}

func (de) Open311TooManyIDs() string {
	return "Höchstens 100 service_request_id auf einmal"
}

func (de) Open311ContactDropped() string {
	return "Ihre Kontaktdaten (E-Mail, Telefon, Name) wurden nicht gespeichert (Datensparsamkeit)."
}

func (de) Open311InvalidReport(reason string) string {
	return fmt.Sprintf("Meldung abgelehnt: %s", reason)
}

func (de) Open311BadText(field string) string {
	return fmt.Sprintf("%q enthält ein NUL-Zeichen oder ist kein gültiges UTF-8", field)
}

// Console and built-in canned replies

func (de) ConsoleSignIn() string     { return "Anmelden" }
func (de) ConsoleLinkPrompt() string { return "Mit diesem Einmal-Link anmelden." }

func (de) TemplateFixed() string {
	return "Der gemeldete Schaden ist behoben. Vielen Dank für Ihren Hinweis!"
}
func (de) TemplateOnOurWay() string { return "Wir sind unterwegs und kümmern uns darum." }
func (de) TemplateNotResponsible() string {
	return "Dafür ist die Stadt leider nicht zuständig. Bitte wenden Sie sich an den Eigentümer bzw. die zuständige Stelle."
}
func (de) TemplateThanks() string { return "Vielen Dank für Ihre Meldung!" }
func (de) TemplateLocation() string {
	return "Bitte senden Sie uns den genauen Standort (in Conversations: Büroklammer → Standort)."
}

// Strict request input (HTTP API)

func (de) JSONContentType() string {
	return "Bitte den Rumpf als JSON mit Content-Type: application/json senden"
}
func (de) JSONNotUTF8(offset int) string {
	return fmt.Sprintf("Der JSON-Rumpf ist kein gültiges UTF-8 (Byte %d)", offset)
}
func (de) JSONDuplicateMember(name string) string {
	return fmt.Sprintf("Das JSON-Feld %q kommt mehrfach vor", name)
}
func (de) JSONUnknownMember(name, known string) string {
	return fmt.Sprintf("Unbekanntes JSON-Feld %q; bekannt sind: %s", name, known)
}
func (de) JSONMemberNUL(name string) string {
	return fmt.Sprintf("Das JSON-Feld %q enthält ein NUL-Zeichen", name)
}
func (de) FieldTwice(name string) string {
	return fmt.Sprintf("Das Formularfeld %q kommt mehrfach vor", name)
}
func (de) UrgentValue(value string) string {
	return fmt.Sprintf("urgent muss true oder false sein (auch 1/0, yes/no, on/off), nicht %q", value)
}
func (de) IdempotencyKeyReused(caseNumber string) string {
	return fmt.Sprintf("Dieser Idempotency-Key wurde schon für Meldung %s mit anderem Inhalt verwendet; bitte für eine neue Meldung einen neuen Schlüssel senden", caseNumber)
}
func (de) AuthorizationTwice() string {
	return "Bitte genau einen Authorization-Header senden, nicht mehrere"
}
func (de) TitleIdempotencyKeyReused() string { return "Idempotency-Key wiederverwendet" }
