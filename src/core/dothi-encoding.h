/* dothi-encoding.h: decodes the text encodings Vietnamese GIS data comes in
 * (UTF-8, CP1258, TCVN3/ABC, VNI and any iconv code page) into NFC UTF-8. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Canonical encoding names used across Dothi (registry, CLI, UI). Any other
 * name is passed to iconv (g_convert). */
#define DOTHI_ENCODING_UTF8   "UTF-8"
#define DOTHI_ENCODING_CP1258 "CP1258"
#define DOTHI_ENCODING_TCVN3  "TCVN3"
#define DOTHI_ENCODING_VNI    "VNI"

typedef enum {
  DOTHI_DECODE_NONE        = 0,
  /* TCVN3 text typed with the capital-letter fonts (.VnTimeH, .VnArialH):
   * the bytes of lower-case letters were displayed as capitals. */
  DOTHI_DECODE_TCVN3_CAPS  = 1 << 0,
} DothiDecodeFlags;

/* Maps what a user, a .cpg file or a registry may say ("utf8", "abc",
 * "TCVN3", "vni", "1258", "windows-1258", "ANSI 1250", "65001", ...) to a
 * canonical name (one of the macros above or an iconv name such as
 * "CP1250"). Returns NULL for "auto"/"" and for names iconv cannot use. */
const char *dothi_encoding_canonical_name (const char *name);

/* Encoding from the contents of a shapefile's .cpg sidecar; NULL when the
 * text is not a code page (an HTML page, garbage). */
const char *dothi_encoding_from_cpg (const char *contents, gssize len);

/* Encoding from a DBF header's language driver id (byte 29); NULL when 0 or
 * unknown. */
const char *dothi_encoding_from_ldid (guint8 ldid);

/* Decodes @len bytes (-1: NUL-terminated) from @encoding into a newly
 * allocated NFC UTF-8 string. Invalid input in UTF-8 or an iconv code page
 * is an error naming the encoding; the Vietnamese tables decode every byte.
 * For UTF-8 and the Vietnamese tables a NUL byte ends the value (DBF
 * padding); an unknown @encoding is DOTHI_ERROR_UNSUPPORTED. */
char *dothi_encoding_decode (const char       *encoding,
                             const char       *bytes,
                             gssize            len,
                             DothiDecodeFlags  flags,
                             GError          **error);

/* Guesses the encoding of raw byte samples (attribute values of one layer):
 * returns DOTHI_ENCODING_UTF8 when every sample is valid UTF-8 (pure ASCII
 * included), else the Vietnamese legacy encoding whose decoding yields the
 * most plausible Vietnamese text. @confidence (may be NULL) gets 0..1. */
const char *dothi_encoding_detect (const char * const *samples,
                                   guint               n_samples,
                                   double             *confidence);

/* Returns a newly allocated NFC copy of valid UTF-8 @text. */
char *dothi_encoding_nfc (const char *text, gssize len);

/* TRUE when @text (valid UTF-8) is already NFC. */
gboolean dothi_encoding_is_nfc (const char *text);

G_END_DECLS
