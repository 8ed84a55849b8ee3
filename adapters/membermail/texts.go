package membermail

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/msa-dossier/dossier/adapters/mail"
)

// text is one kind of mail: its subject and the paragraphs around the code.
type text struct {
	subject string
	intro   string // before the code
	ignore  string // what to do if the person did not ask
}

// The French texts. The code stands alone on its line, indented, so it is easy to copy; the expiry is written in
// the fund's local time.
var (
	activationText = text{
		subject: "Votre code d'activation – Mon espace privé",
		intro:   "Voici votre code d'activation pour ouvrir votre espace privé :",
		ignore: "Si vous n'avez pas demandé à créer un espace privé, ignorez ce message : aucun compte ne sera " +
			"ouvert sans ce code.",
	}
	emailChangeText = text{
		subject: "Confirmez votre nouvelle adresse email",
		intro: "Vous avez demandé que cette adresse devienne l'adresse email de votre espace privé. Pour le " +
			"confirmer, saisissez le code suivant :",
		ignore: "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : l'adresse email de votre " +
			"espace privé ne changera pas.",
	}
	resetText = text{
		subject: "Réinitialisation de votre mot de passe",
		intro: "Vous avez demandé à réinitialiser le mot de passe de votre espace privé. Pour choisir un nouveau " +
			"mot de passe, saisissez le code suivant :",
		ignore: "Si vous n'avez pas demandé à réinitialiser votre mot de passe, ignorez ce message : votre mot de " +
			"passe actuel reste valable.",
	}
)

// errNoCode is a CodeDeriver that gave nothing: a wiring mistake, not a mail to send.
var errNoCode = errors.New("membermail: the code deriver returned an empty code")

// message renders one mail to one address.
func (r *reactions) message(to string, t text, code string, expiresAt time.Time) (mail.Message, error) {
	if code == "" {
		return mail.Message{}, errNoCode
	}
	var b strings.Builder
	b.WriteString("Bonjour,\n\n")
	b.WriteString(t.intro + "\n\n")
	b.WriteString("    " + code + "\n\n")
	fmt.Fprintf(&b, "Ce code est valable jusqu'au %s (heure de Paris). Il ne peut servir qu'une seule fois.\n\n",
		frenchDateTime(expiresAt.In(r.paris)))
	b.WriteString(t.ignore + "\n\n")
	b.WriteString("Ne communiquez jamais ce code, même à un conseiller de votre caisse : il ne vous sera jamais " +
		"demandé par téléphone ni par email.\n\n")
	b.WriteString("Ce message vous est envoyé automatiquement, merci de ne pas y répondre.\n")
	return mail.Message{
		From:    r.From,
		To:      to,
		Subject: t.subject,
		Text:    b.String(),
		Header:  map[string]string{"Content-Language": "fr"},
	}, nil
}

var (
	frenchDays   = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	frenchMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
		"septembre", "octobre", "novembre", "décembre"}
)

// frenchDateTime writes t as French does, in t's location: "mercredi 28 mai 2025 à 10 h 05", "dimanche 1er juin
// 2025 à 0 h 15".
func frenchDateTime(t time.Time) string {
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %s %d à %d h %02d", frenchDays[t.Weekday()], day, frenchMonths[t.Month()-1], t.Year(),
		t.Hour(), t.Minute())
}

// notice is a security notice: its subject and its paragraphs. It never holds a code, a password, a NIR nor the new
// address of an email change.
type notice struct {
	subject    string
	paragraphs []string
}

// lockParagraphs is the notice of a lock that ends at until (the fund's local time, written out).
func lockParagraphs(until string) notice {
	return notice{
		subject: "Connexion à votre espace privé suspendue",
		paragraphs: []string{
			"Plusieurs mots de passe erronés ont été saisis pour vous connecter à votre espace privé. Par sécurité, " +
				"la connexion est suspendue jusqu'au " + until + " (heure de Paris) : d'ici là, même le bon mot de " +
				"passe est refusé.",
			"Si c'était vous, attendez cette heure pour vous connecter à nouveau, ou choisissez dès maintenant un " +
				"nouveau mot de passe avec « Mot de passe oublié » sur la page de connexion : la suspension prend " +
				"fin dès que le nouveau mot de passe est enregistré.",
			"Si ce n'était pas vous, quelqu'un a peut-être essayé de deviner votre mot de passe ; ces essais ont " +
				"échoué. Par prudence, choisissez un nouveau mot de passe avec « Mot de passe oublié », que vous " +
				"n'utilisez nulle part ailleurs, et contactez votre caisse si ce message se répète.",
		},
	}
}

// emailChangedParagraphs is the notice sent to the old address of an email change made at when.
func emailChangedParagraphs(when string) notice {
	return notice{
		subject: "L'adresse email de votre espace privé a été modifiée",
		paragraphs: []string{
			"Le " + when + " (heure de Paris), l'adresse email de votre espace privé a été remplacée par une " +
				"nouvelle adresse, confirmée par le code qui lui a été envoyé. Les messages de votre espace privé " +
				"ne seront plus envoyés à cette adresse-ci.",
			"Si vous êtes à l'origine de ce changement, vous n'avez rien à faire.",
			"Si vous n'êtes pas à l'origine de ce changement, quelqu'un a peut-être accès à votre espace privé : " +
				"contactez votre caisse sans attendre, pour qu'elle vérifie votre identité et rétablisse votre " +
				"adresse. Si vous pouvez encore vous connecter, changez aussi votre mot de passe.",
		},
	}
}

// passwordParagraphs is the notice of a password changed (reset false: from within the member's space) or reset
// (with a code sent by email) at when.
func passwordParagraphs(when string, reset bool) notice {
	what := "Le " + when + " (heure de Paris), le mot de passe de votre espace privé a été modifié depuis votre " +
		"espace privé. Vos autres sessions ont été fermées."
	if reset {
		what = "Le " + when + " (heure de Paris), le mot de passe de votre espace privé a été réinitialisé avec " +
			"« Mot de passe oublié », grâce au code envoyé à votre adresse email. Toutes vos sessions ont été " +
			"fermées."
	}
	return notice{
		subject: "Le mot de passe de votre espace privé a été modifié",
		paragraphs: []string{
			what,
			"Si vous êtes à l'origine de ce changement, vous n'avez rien à faire.",
			"Si vous n'êtes pas à l'origine de ce changement, choisissez sans attendre un nouveau mot de passe avec " +
				"« Mot de passe oublié » sur la page de connexion : un code sera envoyé à cette adresse, et toutes " +
				"les sessions ouvertes seront fermées. Contactez ensuite votre caisse.",
		},
	}
}
