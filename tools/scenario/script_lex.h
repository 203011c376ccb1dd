/*
 * Internal to the script front end: the lexer of packetdrill's script
 * syntax (script_lex.c), used by the parser (script_parse.c).
 *
 * The lexer is a cursor over the text that the parser pulls tokens from one
 * at a time, with one token of lookahead. A few places of the grammar are
 * not made of ordinary tokens (the TCP flags "S.", hex blobs, state names
 * such as "FIN-WAIT-1", the "(note)" after an errno): the parser rewinds to
 * the start of the peeked token and asks for a raw run of characters there.
 *
 * Every token knows its 1-based line and column. The lexer never reads past
 * text[len - 1] and needs no NUL terminator.
 */
#ifndef SYNFIN_SCRIPT_LEX_H
#define SYNFIN_SCRIPT_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

typedef enum sc_tok_kind {
	SC_TK_EOF = 0,
	SC_TK_INT,       /* 123, -1 (value in ival) */
	SC_TK_HEX,       /* 0x1f (value in ival) */
	SC_TK_FLOAT,     /* 0.1, .25, -0.5 (text only; see sc_lex_time_us) */
	SC_TK_WORD,      /* [A-Za-z_][A-Za-z0-9_]* */
	SC_TK_STRING,    /* "..." (text includes the quotes) */
	SC_TK_BACKQUOTE, /* `shell command` */
	SC_TK_CODE,      /* %{ python }% */
	SC_TK_OPTION,    /* --name (text includes the dashes) */
	SC_TK_ELLIPSIS,  /* ... */
	SC_TK_IPV4,      /* 192.0.2.1 */
	SC_TK_PUNCT,     /* any other single character, in punct */
	SC_TK_ERROR,     /* lexical error: message in the lexer */
} sc_tok_kind;

typedef struct sc_tok {
	sc_tok_kind kind;
	sc_pos pos;
	size_t off;          /* byte offset of the first character */
	size_t line_start;   /* byte offset of the start of its line */
	const char *text;    /* points into the script */
	size_t len;
	int64_t ival;        /* SC_TK_INT / SC_TK_HEX */
	bool overflow;       /* the number does not fit in int64 */
	char punct;          /* SC_TK_PUNCT */
} sc_tok;

typedef struct sc_lexer {
	const char *text;
	size_t len;
	size_t off;
	uint32_t line;
	size_t line_start;
	bool has_peek;
	sc_tok peek;
	char errmsg[200];    /* for SC_TK_ERROR */
	sc_pos errpos;       /* where the erroneous construct starts */
} sc_lexer;

void sc_lex_init(sc_lexer *lx, const char *text, size_t len);
/* The next token, consumed. */
sc_tok sc_lex_next(sc_lexer *lx);
/* The next token, not consumed. */
const sc_tok *sc_lex_peek(sc_lexer *lx);
/* Skip white space and comments; returns false on an unterminated comment
 * (with errmsg set). The position is then at the next token's start. */
bool sc_lex_skip_space(sc_lexer *lx);
/* Forget the peeked token and go back to its start. */
void sc_lex_unpeek(sc_lexer *lx);
/* The current position (after sc_lex_skip_space: the next token's). */
sc_pos sc_lex_pos(const sc_lexer *lx);
/*
 * After skipping space, take the longest run of characters for which
 * accept(c) is true, on the current line. Returns a token of kind
 * SC_TK_WORD (possibly empty: len 0).
 */
sc_tok sc_lex_raw(sc_lexer *lx, bool (*accept)(char c));
/* Take everything up to and including the next ')' on this line (a note
 * such as "(Operation now in progress)"); false if there is none. */
bool sc_lex_skip_note(sc_lexer *lx);

/*
 * Convert an INT or FLOAT token (seconds) to microseconds. Returns 0, or -1
 * with why set ("more than 6 decimal places", "too large", "negative").
 */
int sc_lex_time_us(const sc_tok *t, bool allow_negative, int64_t *us, const char **why);

/* Does the token equal this word / this punctuation character? */
bool sc_tok_is_word(const sc_tok *t, const char *word);
bool sc_tok_is_punct(const sc_tok *t, char c);
/* Copy the token text into buf (cap >= 1), truncating with "..." if long. */
const char *sc_tok_str(const sc_tok *t, char *buf, size_t cap);

#endif /* SYNFIN_SCRIPT_LEX_H */
