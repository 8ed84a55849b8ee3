// Package letters makes the PDF documents the fund publishes into a member's inbox, with codeberg.org/go-pdf/fpdf:
// the decision letter of a decided request and the payment attestation. They are functions of their data (dated by the
// document's own date; pdfcpu's rewrite stamps its own ids, so two runs differ in bytes, not in content), use the
// PDF core fonts (Helvetica, cp1252: every French character of the texts) and carry no active content, so the
// deposit checks (adapters/filecheck) accept them.
package letters

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// Fund is who signs the documents: the fund's name and the service in charge (its name and postal address lines).
type Fund struct {
	Name    string
	Service string
	Address string // lines separated by "\n"
}

// Decision is what a decision letter says.
type Decision struct {
	Fund           Fund
	Reference      string    // the request's reference
	Service        string    // the service's label
	ReceivedAt     time.Time // the request's receipt
	DecidedAt      time.Time
	Approved       bool
	Reason         string
	RuleApplied    string
	CatalogVersion string
	AuthorName     string
	AuthorPosition string
	AppealRoutes   []string
	// AppealMonths is the period to contest, from the notification (servicerequest.AppealPeriod).
	AppealMonths int
	// DeemedDays is how many days after publication an unopened letter is deemed notified; LatestAppealOn the last
	// day to contest when it is never opened (the deadline at the latest).
	DeemedDays     int
	LatestAppealOn time.Time
}

// Payment is one line of an attestation.
type Payment struct {
	PaidOn      string // YYYY-MM-DD
	Label       string
	AmountCents int64
}

// Attestation is what a payment attestation says.
type Attestation struct {
	Fund     Fund
	Year     int
	AsOf     time.Time // when it was asked: the payments recorded by then
	Payments []Payment
}

var paris = mustParis()

func mustParis() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}

var months = []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
	"novembre", "décembre"}

// Day is a date in French words, in Europe/Paris ("6 décembre 2026").
func Day(t time.Time) string {
	t = t.In(paris)
	return fmt.Sprintf("%d %s %d", t.Day(), months[t.Month()-1], t.Year())
}

type page struct {
	pdf *fpdf.Fpdf
	tr  func(string) string
}

func newPage(title string, at time.Time, fund Fund) *page {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(at.UTC())
	pdf.SetModificationDate(at.UTC())
	pdf.SetCatalogSort(true)
	pdf.SetTitle(title, true)
	pdf.SetAuthor(fund.Name, true)
	pdf.SetMargins(20, 20, 20)
	pdf.AddPage()
	p := &page{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor("")}
	p.text("B", 12, fund.Name)
	p.text("", 10, fund.Service)
	for _, l := range strings.Split(fund.Address, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			p.text("", 10, l)
		}
	}
	pdf.Ln(6)
	p.text("", 10, "Le "+Day(at))
	pdf.Ln(4)
	p.text("B", 14, title)
	pdf.Ln(2)
	return p
}

func (p *page) text(style string, size float64, s string) {
	p.pdf.SetFont("Helvetica", style, size)
	p.pdf.MultiCell(0, size*0.5, p.tr(s), "", "L", false)
}

func (p *page) para(s string) {
	p.text("", 11, s)
	p.pdf.Ln(2)
}

func (p *page) bytes() ([]byte, error) {
	var b bytes.Buffer
	if err := p.pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("letters: %w", err)
	}
	return withoutNames(b.Bytes())
}

// withoutNames drops the catalog's /Names: fpdf always writes an (empty) /EmbeddedFiles tree there, which readers
// and our own deposit check rightly take for an attachment container. A letter must pass the check a member's
// re-deposit of it goes through; pdfcpu rewrites the file without it.
func withoutNames(pdf []byte) ([]byte, error) {
	conf := model.NewDefaultConfiguration()
	ctx, err := api.ReadContext(bytes.NewReader(pdf), conf)
	if err != nil {
		return nil, fmt.Errorf("letters: reread: %w", err)
	}
	root, err := ctx.Catalog()
	if err != nil {
		return nil, fmt.Errorf("letters: catalog: %w", err)
	}
	root.Delete("Names")
	var out bytes.Buffer
	if err := api.WriteContext(ctx, &out); err != nil {
		return nil, fmt.Errorf("letters: rewrite: %w", err)
	}
	return out.Bytes(), nil
}

// DecisionLetter returns the PDF of decision d: the decision and its reason, the rule and catalog version applied,
// its author (CRPA L212-1), the appeal routes and their deadline (R112-5, R142-1).
func DecisionLetter(d Decision) ([]byte, error) {
	p := newPage("Notification de décision", d.DecidedAt, d.Fund)
	p.para("Objet : votre demande " + d.Reference + " - " + d.Service)
	p.para("Madame, Monsieur,")
	outcome := "REJETÉE"
	if d.Approved {
		outcome = "ACCEPTÉE"
	}
	received := ""
	if !d.ReceivedAt.IsZero() {
		received = ", reçue le " + Day(d.ReceivedAt) + ","
	}
	p.para(fmt.Sprintf("Votre demande %s (%s)%s a été examinée. Décision : votre demande est %s.",
		d.Reference, d.Service, received, outcome))
	if r := strings.TrimSpace(d.Reason); r != "" {
		p.text("B", 11, "Motifs de la décision")
		p.para(r)
	}
	p.para(fmt.Sprintf("Règle appliquée : %s (catalogue des services, version %s).", d.RuleApplied, d.CatalogVersion))
	if d.AuthorName != "" || d.AuthorPosition != "" {
		p.para(fmt.Sprintf("Décision prise le %s par %s.", Day(d.DecidedAt),
			strings.TrimSuffix(strings.TrimSpace(d.AuthorName+", "+d.AuthorPosition), ",")))
	}
	p.text("B", 11, "Délais et voies de recours")
	p.para(fmt.Sprintf("Vous pouvez contester cette décision dans un délai de %d mois à compter de sa notification. "+
		"Elle vous est notifiée le jour où vous ouvrez ce document pour la première fois dans votre espace privé, ou "+
		"au plus tard %d jours après sa mise à disposition : si vous ne l'ouvrez pas, le délai de recours prend fin "+
		"le %s au plus tard.", d.AppealMonths, d.DeemedDays, Day(d.LatestAppealOn)))
	for _, r := range d.AppealRoutes {
		p.para(r)
	}
	p.para("Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.")
	return p.bytes()
}

// Euros formats cents the French way ("1 234,50 €").
func Euros(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	units := fmt.Sprint(cents / 100)
	var groups []string
	for len(units) > 3 {
		groups = append([]string{units[len(units)-3:]}, groups...)
		units = units[:len(units)-3]
	}
	groups = append([]string{units}, groups...)
	return fmt.Sprintf("%s%s,%02d €", sign, strings.Join(groups, " "), cents%100)
}

// PaymentAttestation returns the PDF of attestation a: every payment of the year recorded when it was asked, and
// their total.
func PaymentAttestation(a Attestation) ([]byte, error) {
	p := newPage(fmt.Sprintf("Attestation de paiements %d", a.Year), a.AsOf, a.Fund)
	p.para(fmt.Sprintf("%s atteste avoir versé à l'assuré(e) titulaire de cet espace privé les sommes suivantes au "+
		"cours de l'année %d, telles qu'elles sont enregistrées le %s.", a.Fund.Name, a.Year, Day(a.AsOf)))
	var total int64
	if len(a.Payments) == 0 {
		p.para("Aucun paiement n'est enregistré pour cette année.")
	}
	for _, pay := range a.Payments {
		total += pay.AmountCents
		p.para(fmt.Sprintf("%s   %s   %s", pay.PaidOn, pay.Label, Euros(pay.AmountCents)))
	}
	p.text("B", 11, "Total : "+Euros(total))
	p.pdf.Ln(2)
	p.para("Attestation établie pour servir et valoir ce que de droit.")
	return p.bytes()
}
