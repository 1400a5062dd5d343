package omemo

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
)

// Encrypted is the <encrypted/> element of an OMEMO message (XEP-0384
// v0.3 §4.5): a header with the sender's device id, one key per recipient
// device (the Signal-encrypted AES key and tag), the IV, and the payload
// (absent in key-transport messages).
type Encrypted struct {
	XMLName xml.Name `xml:"eu.siacs.conversations.axolotl encrypted"`
	Header  Header   `xml:"header"`
	Payload string   `xml:"payload,omitempty"` // base64 AES-GCM ciphertext without the tag
}

// Header of an <encrypted/> element.
type Header struct {
	SID  uint32 `xml:"sid,attr"`
	Keys []Key  `xml:"key"`
	IV   string `xml:"iv"` // base64, 12 bytes (16 from old clients)
}

// Key is the Signal message for one recipient device.
type Key struct {
	RID    uint32 `xml:"rid,attr"`
	PreKey bool   `xml:"prekey,attr,omitempty"` // a PreKeySignalMessage (session set-up)
	Value  string `xml:",chardata"`             // base64
}

// DeviceList is the item of the device-list node (§4.2).
type DeviceList struct {
	XMLName xml.Name `xml:"eu.siacs.conversations.axolotl list"`
	Devices []Device `xml:"device"`
}

// Device names one device id in a device list.
type Device struct {
	ID uint32 `xml:"id,attr"`
}

// Bundle is the item of a bundle node (§4.3): the public keys another
// device needs to start a session (X3DH) with this one, all base64 of the
// serialized keys (a 0x05 type byte and 32 key bytes).
type Bundle struct {
	XMLName               xml.Name `xml:"eu.siacs.conversations.axolotl bundle"`
	SignedPreKeyPublic    SignedPreKeyPublic
	SignedPreKeySignature string   `xml:"signedPreKeySignature"`
	IdentityKey           string   `xml:"identityKey"`
	PreKeys               []PreKey `xml:"prekeys>preKeyPublic"`
}

// SignedPreKeyPublic is the signed pre-key with its id.
type SignedPreKeyPublic struct {
	XMLName xml.Name `xml:"signedPreKeyPublic"`
	ID      uint32   `xml:"signedPreKeyId,attr"`
	Value   string   `xml:",chardata"`
}

// PreKey is one one-time pre-key with its id.
type PreKey struct {
	ID    uint32 `xml:"preKeyId,attr"`
	Value string `xml:",chardata"`
}

// decodeB64 reads base64 as clients write it: standard alphabet, padded
// or not, with line breaks tolerated.
func decodeB64(s string, what string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\n', '\r', '\t':
		default:
			clean = append(clean, c)
		}
	}
	b, err := base64.StdEncoding.DecodeString(string(clean))
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(string(clean))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64", ErrMalformed, what)
	}
	return b, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
