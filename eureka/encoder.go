package eureka

import "io"

// An ApplicationsEncoder writes a registry document to an io.Writer one
// application at a time, so a large document can go straight into a
// compressor, or be measured, without being held whole. The bytes are those
// AppendApplicationsJSON or AppendApplicationsXML appends for the same
// applications. An ApplicationsEncoder is not safe for concurrent use.
type ApplicationsEncoder struct {
	w     io.Writer
	xml   bool
	first bool
	buf   []byte
	err   error
}

// encoderFlush is how much an ApplicationsEncoder buffers before it writes.
const encoderFlush = 32 << 10

// NewApplicationsJSONEncoder starts a JSON registry document on w with the
// given versions__delta and apps__hashcode.
func NewApplicationsJSONEncoder(w io.Writer, versionsDelta int64, hash string) *ApplicationsEncoder {
	e := &ApplicationsEncoder{w: w, first: true, buf: make([]byte, 0, 2*encoderFlush)}
	e.buf = appendApplicationsJSONHead(e.buf, versionsDelta, hash)
	return e
}

// NewApplicationsXMLEncoder starts an XML registry document on w with the
// given versions__delta and apps__hashcode.
func NewApplicationsXMLEncoder(w io.Writer, versionsDelta int64, hash string) *ApplicationsEncoder {
	e := &ApplicationsEncoder{w: w, xml: true, buf: make([]byte, 0, 2*encoderFlush)}
	e.buf = appendApplicationsXMLHead(e.buf, versionsDelta, hash)
	return e
}

// Encode adds app to the document, unless it has no instances (the document
// functions leave those out). The encoder keeps no reference to app, so the
// caller may reuse it and its instances for the next call. It returns the
// first error the writer gave, if any.
func (e *ApplicationsEncoder) Encode(app *Application) error {
	if e.err != nil || !hasInstances(app) {
		return e.err
	}
	if e.xml {
		e.buf = appendApplicationXML(e.buf, app, 1)
	} else {
		if !e.first {
			e.buf = append(e.buf, ',')
		}
		e.first = false
		e.buf = appendApplicationJSON(e.buf, app)
	}
	if len(e.buf) >= encoderFlush {
		e.flush()
	}
	return e.err
}

// Close ends the document and writes what is buffered. It does not close
// the writer.
func (e *ApplicationsEncoder) Close() error {
	if e.err != nil {
		return e.err
	}
	if e.xml {
		e.buf = append(e.buf, applicationsXMLTail...)
	} else {
		e.buf = append(e.buf, applicationsJSONTail...)
	}
	e.flush()
	return e.err
}

func (e *ApplicationsEncoder) flush() {
	if len(e.buf) == 0 || e.err != nil {
		return
	}
	_, e.err = e.w.Write(e.buf)
	e.buf = e.buf[:0]
}
