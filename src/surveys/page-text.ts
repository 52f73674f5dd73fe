/**
 * The rating pages' own words (buttons, hints) per locale. The survey's wording (question,
 * labels, thanks, comment prompt) comes from the definitions file; these are the frame around it.
 * A locale not listed here shows English.
 */
/** The entry for a locale's language (de-AT → de), English when there is none. */
function byLanguage<T>(table: Record<'en' | 'de' | 'fr' | 'es', T>, locale: string): T {
  const lang = locale.split('-')[0];
  return lang in table ? table[lang as keyof typeof table] : table.en;
}

type Keys = 'yourRating' | 'confirm' | 'saving' | 'saveFailed' | 'meantElse' | 'choose' | 'sendComment' | 'updateComment' | 'changeRating' | 'yourComment';
export type PageText = Record<Keys, string>;

const TEXT: Record<'en' | 'de' | 'fr' | 'es', PageText> = {
  en: {
    yourRating: 'Your rating:',
    confirm: 'Confirm rating',
    saving: 'Saving your rating…',
    saveFailed: 'Your rating could not be saved automatically. Please press "Confirm rating".',
    meantElse: 'Meant something else? Pick another answer:',
    choose: 'Choose the answer that fits best:',
    sendComment: 'Send comment',
    updateComment: 'Update comment',
    changeRating: 'Change your rating',
    yourComment: 'Your comment:',
  },
  de: {
    yourRating: 'Ihre Bewertung:',
    confirm: 'Bewertung bestätigen',
    saving: 'Ihre Bewertung wird gespeichert…',
    saveFailed: 'Ihre Bewertung konnte nicht automatisch gespeichert werden. Bitte klicken Sie auf „Bewertung bestätigen“.',
    meantElse: 'Etwas anderes gemeint? Wählen Sie eine andere Antwort:',
    choose: 'Wählen Sie die passende Antwort:',
    sendComment: 'Kommentar senden',
    updateComment: 'Kommentar ändern',
    changeRating: 'Bewertung ändern',
    yourComment: 'Ihr Kommentar:',
  },
  fr: {
    yourRating: 'Votre évaluation :',
    confirm: "Confirmer l'évaluation",
    saving: 'Enregistrement de votre évaluation…',
    saveFailed: "Votre évaluation n'a pas pu être enregistrée automatiquement. Veuillez cliquer sur « Confirmer l'évaluation ».",
    meantElse: 'Vous vouliez dire autre chose ? Choisissez une autre réponse :',
    choose: 'Choisissez la réponse qui convient le mieux :',
    sendComment: 'Envoyer le commentaire',
    updateComment: 'Modifier le commentaire',
    changeRating: 'Modifier votre évaluation',
    yourComment: 'Votre commentaire :',
  },
  es: {
    yourRating: 'Su valoración:',
    confirm: 'Confirmar valoración',
    saving: 'Guardando su valoración…',
    saveFailed: 'No se pudo guardar su valoración automáticamente. Pulse «Confirmar valoración».',
    meantElse: '¿Quería decir otra cosa? Elija otra respuesta:',
    choose: 'Elija la respuesta que mejor encaje:',
    sendComment: 'Enviar comentario',
    updateComment: 'Actualizar comentario',
    changeRating: 'Cambiar su valoración',
    yourComment: 'Su comentario:',
  },
};

export function pageText(locale: string): PageText {
  return byLanguage(TEXT, locale);
}

type EmailText = { unsubscribe: string; greeting: (name: string) => string; reminder: string };

const EMAIL_TEXT: Record<'en' | 'de' | 'fr' | 'es', EmailText> = {
  en: { unsubscribe: 'Unsubscribe from survey emails', greeting: (name) => `Hi ${name},`, reminder: 'A gentle reminder: we would still like to hear from you. One click is all it takes.' },
  de: { unsubscribe: 'Keine Umfrage-E-Mails mehr erhalten', greeting: (name) => `Hallo ${name},`, reminder: 'Eine kurze Erinnerung: Ihre Meinung interessiert uns weiterhin. Ein Klick genügt.' },
  fr: { unsubscribe: 'Ne plus recevoir les e-mails d’enquête', greeting: (name) => `Bonjour ${name},`, reminder: 'Petit rappel : votre avis nous intéresse toujours. Un seul clic suffit.' },
  es: { unsubscribe: 'Dejar de recibir encuestas por correo', greeting: (name) => `Hola ${name}:`, reminder: 'Un breve recordatorio: nos sigue interesando su opinión. Basta con un clic.' },
};

/** The email's own words around the configured wording: the greeting, a reminder's opening line and the footer's unsubscribe link. */
export function emailText(locale: string): EmailText {
  return byLanguage(EMAIL_TEXT, locale);
}
