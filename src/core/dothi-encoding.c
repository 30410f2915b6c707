/* dothi-encoding.c: decodes UTF-8, CP1258, TCVN3 (ABC), VNI and iconv code
 * pages into NFC UTF-8, maps encoding names from users, .cpg files and DBF
 * headers, and guesses which legacy Vietnamese encoding a layer uses. */
#define G_LOG_DOMAIN "dothi-encoding"

#include "dothi-encoding.h"
#include "dothi-error.h"

#include <glib/gi18n-lib.h>
#include <string.h>

/* Windows-1252 0x80-0x9F. The legacy Vietnamese font encodings were used
 * through Windows "ANSI" fonts, so these bytes show (and were typed as) the
 * Windows-1252 punctuation there. Bytes Windows leaves undefined map to
 * the C1 control of the same value, as MultiByteToWideChar does. */
static const gunichar2 cp1252_c1[32] = {
  0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  /* 0x80 */
  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,  /* 0x88 */
  0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  /* 0x90 */
  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,  /* 0x98 */
};

/* Windows-1258 0x80-0xFF, as in Microsoft's published table (glibc's
 * CP1258 charmap and Python's cp1258 codec agree). 0xCC, 0xD2, 0xDE, 0xEC
 * and 0xF2 are the combining tone marks: text is normalised afterwards. */
static const gunichar2 cp1258_high[128] = {
  0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  /* 0x80 */
  0x02C6, 0x2030, 0x008A, 0x2039, 0x0152, 0x008D, 0x008E, 0x008F,  /* 0x88 */
  0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  /* 0x90 */
  0x02DC, 0x2122, 0x009A, 0x203A, 0x0153, 0x009D, 0x009E, 0x0178,  /* 0x98 */
  0x00A0, 0x00A1, 0x00A2, 0x00A3, 0x00A4, 0x00A5, 0x00A6, 0x00A7,  /* 0xA0 */
  0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,  /* 0xA8 */
  0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7,  /* 0xB0 */
  0x00B8, 0x00B9, 0x00BA, 0x00BB, 0x00BC, 0x00BD, 0x00BE, 0x00BF,  /* 0xB8 */
  0x00C0, 0x00C1, 0x00C2, 0x0102, 0x00C4, 0x00C5, 0x00C6, 0x00C7,  /* 0xC0 */
  0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x0300, 0x00CD, 0x00CE, 0x00CF,  /* 0xC8 */
  0x0110, 0x00D1, 0x0309, 0x00D3, 0x00D4, 0x01A0, 0x00D6, 0x00D7,  /* 0xD0 */
  0x00D8, 0x00D9, 0x00DA, 0x00DB, 0x00DC, 0x01AF, 0x0303, 0x00DF,  /* 0xD8 */
  0x00E0, 0x00E1, 0x00E2, 0x0103, 0x00E4, 0x00E5, 0x00E6, 0x00E7,  /* 0xE0 */
  0x00E8, 0x00E9, 0x00EA, 0x00EB, 0x0301, 0x00ED, 0x00EE, 0x00EF,  /* 0xE8 */
  0x0111, 0x00F1, 0x0323, 0x00F3, 0x00F4, 0x01A1, 0x00F6, 0x00F7,  /* 0xF0 */
  0x00F8, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x01B0, 0x20AB, 0x00FF,  /* 0xF8 */
};

/* TCVN 5712:1993 0xA0-0xFF. TCVN3 (VN3, the ABC/.VnTime fonts) assigns
 * 0xA1-0xAE (Ă Â Ê Ô Ơ Ư Đ ă â ê ô ơ ư đ) and the 60 lower-case toned
 * vowels in 0xB5-0xFE; it has no upper-case toned vowels, which is why
 * the all-capital .VnTimeH fonts exist. The bytes VN3 leaves free hold
 * VN2's capitals and combining marks (0xAF, 0xB0-0xB4, 0xBA, 0xBF-0xC5,
 * 0xCD, 0xD9-0xDB, 0xE0, 0xF0, 0xFF), so VN2 text decodes too. Positions
 * from glibc's TCVN5712-1 charmap; the VN3 ones agree with Unikey's TCVN3
 * table. VN1's capitals in 0x01-0x17 and 0x80-0x9F are not used: VN3
 * keeps ASCII and shows Windows-1252 there (see cp1252_c1), and glibc's
 * iconv "TCVN" would turn those bytes into capitals. */
static const gunichar2 tcvn3_high[96] = {
  0x00A0, 0x0102, 0x00C2, 0x00CA, 0x00D4, 0x01A0, 0x01AF, 0x0110,  /* 0xA0 */
  0x0103, 0x00E2, 0x00EA, 0x00F4, 0x01A1, 0x01B0, 0x0111, 0x1EB0,  /* 0xA8 */
  0x0300, 0x0309, 0x0303, 0x0301, 0x0323, 0x00E0, 0x1EA3, 0x00E3,  /* 0xB0 */
  0x00E1, 0x1EA1, 0x1EB2, 0x1EB1, 0x1EB3, 0x1EB5, 0x1EAF, 0x1EB4,  /* 0xB8 */
  0x1EAE, 0x1EA6, 0x1EA8, 0x1EAA, 0x1EA4, 0x1EC0, 0x1EB7, 0x1EA7,  /* 0xC0 */
  0x1EA9, 0x1EAB, 0x1EA5, 0x1EAD, 0x00E8, 0x1EC2, 0x1EBB, 0x1EBD,  /* 0xC8 */
  0x00E9, 0x1EB9, 0x1EC1, 0x1EC3, 0x1EC5, 0x1EBF, 0x1EC7, 0x00EC,  /* 0xD0 */
  0x1EC9, 0x1EC4, 0x1EBE, 0x1ED2, 0x0129, 0x00ED, 0x1ECB, 0x00F2,  /* 0xD8 */
  0x1ED4, 0x1ECF, 0x00F5, 0x00F3, 0x1ECD, 0x1ED3, 0x1ED5, 0x1ED7,  /* 0xE0 */
  0x1ED1, 0x1ED9, 0x1EDD, 0x1EDF, 0x1EE1, 0x1EDB, 0x1EE3, 0x00F9,  /* 0xE8 */
  0x1ED6, 0x1EE7, 0x0169, 0x00FA, 0x1EE5, 0x1EEB, 0x1EED, 0x1EEF,  /* 0xF0 */
  0x1EE9, 0x1EF1, 0x1EF3, 0x1EF7, 0x1EF9, 0x00FD, 0x1EF5, 0x1ED0,  /* 0xF8 */
};

/* VNI-Windows writes a vowel as its ASCII base letter followed by one
 * diacritic byte (a modifier, a tone, or both at once), except for
 * ơ ư đ, the toned i and ỵ, which have bytes of their own. Every
 * upper-case byte is the lower-case one minus 0x20. Bytes from Unikey's
 * VNI-Win table, checked against the vietnamese-conversion (npm) and
 * xvnkb tables. Other bytes are Windows-1252. */
#define VNI_CIRC   0x0302
#define VNI_BREVE  0x0306
#define VNI_GRAVE  0x0300
#define VNI_ACUTE  0x0301
#define VNI_TILDE  0x0303
#define VNI_HOOK   0x0309
#define VNI_DOT    0x0323

typedef struct {
  guint8   byte;    /* lower-case form */
  gunichar modifier;
  gunichar tone;
} VniMark;

static const VniMark vni_marks[] = {
  { 0xF9, 0, VNI_ACUTE },
  { 0xF8, 0, VNI_GRAVE },
  { 0xFB, 0, VNI_HOOK },
  { 0xF5, 0, VNI_TILDE },
  { 0xEF, 0, VNI_DOT },
  { 0xE2, VNI_CIRC, 0 },
  { 0xE1, VNI_CIRC, VNI_ACUTE },
  { 0xE0, VNI_CIRC, VNI_GRAVE },
  { 0xE5, VNI_CIRC, VNI_HOOK },
  { 0xE3, VNI_CIRC, VNI_TILDE },
  { 0xE4, VNI_CIRC, VNI_DOT },
  { 0xEA, VNI_BREVE, 0 },
  { 0xE9, VNI_BREVE, VNI_ACUTE },
  { 0xE8, VNI_BREVE, VNI_GRAVE },
  { 0xFA, VNI_BREVE, VNI_HOOK },
  { 0xFC, VNI_BREVE, VNI_TILDE },
  { 0xEB, VNI_BREVE, VNI_DOT },
};

typedef struct {
  guint8   byte;    /* lower-case form */
  gunichar lower;
  gunichar upper;
} VniLetter;

static const VniLetter vni_letters[] = {
  { 0xF1, 0x0111, 0x0110 },  /* đ Đ */
  { 0xF4, 0x01A1, 0x01A0 },  /* ơ Ơ */
  { 0xF6, 0x01B0, 0x01AF },  /* ư Ư */
  { 0xED, 0x00ED, 0x00CD },  /* í Í */
  { 0xEC, 0x00EC, 0x00CC },  /* ì Ì */
  { 0xE6, 0x1EC9, 0x1EC8 },  /* ỉ Ỉ */
  { 0xF3, 0x0129, 0x0128 },  /* ĩ Ĩ */
  { 0xF2, 0x1ECB, 0x1ECA },  /* ị Ị */
  { 0xEE, 0x1EF5, 0x1EF4 },  /* ỵ Ỵ */
};

/* Code pages Windows numbers differently from iconv's CPnnnn. */
static const struct {
  guint       number;
  const char *name;
} numbered_code_pages[] = {
  { 20127, "ASCII" },
  { 20866, "KOI8-R" },
  { 21866, "KOI8-U" },
  { 10000, "MACINTOSH" },
  { 10029, "MAC-CENTRALEUROPE" },
  { 54936, "GB18030" },
  { 65001, DOTHI_ENCODING_UTF8 },
  { 1258,  DOTHI_ENCODING_CP1258 },
};

/* Names are compared lower-cased, without spaces, '-' or '_'. */
static const struct {
  const char *alias;
  const char *name;
} encoding_aliases[] = {
  { "utf8", DOTHI_ENCODING_UTF8 },
  { "tcvn3", DOTHI_ENCODING_TCVN3 },
  { "tcvn", DOTHI_ENCODING_TCVN3 },
  { "tcvn5712", DOTHI_ENCODING_TCVN3 },
  { "tcvn57121", DOTHI_ENCODING_TCVN3 },
  { "tcvn57121993", DOTHI_ENCODING_TCVN3 },
  { "tcvn57123", DOTHI_ENCODING_TCVN3 },
  { "vn3", DOTHI_ENCODING_TCVN3 },
  { "abc", DOTHI_ENCODING_TCVN3 },
  { "vntime", DOTHI_ENCODING_TCVN3 },
  { ".vntime", DOTHI_ENCODING_TCVN3 },
  { "vni", DOTHI_ENCODING_VNI },
  { "vniwin", DOTHI_ENCODING_VNI },
  { "vniwindows", DOTHI_ENCODING_VNI },
};

static gboolean
is_encoding (const char *canonical, const char *name)
{
  return strcmp (canonical, name) == 0;
}

G_LOCK_DEFINE_STATIC (iconv_names);
static GHashTable *iconv_names;  /* lower-case name -> interned name or "" */

static gboolean
iconv_knows (const char *name)
{
  GIConv cd = g_iconv_open ("UTF-8", name);

  if (cd == (GIConv) -1)
    return FALSE;
  g_iconv_close (cd);
  return TRUE;
}

/* Returns the interned iconv name for @name, or NULL; caches the answer
 * because iconv_open loads a module each time. */
static const char *
lookup_iconv_name (const char *name)
{
  g_autofree char *key = g_ascii_strdown (name, -1);
  const char *result;

  G_LOCK (iconv_names);
  if (iconv_names == NULL)
    iconv_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  result = g_hash_table_lookup (iconv_names, key);
  if (result == NULL)
    {
      g_autofree char *upper = g_ascii_strup (name, -1);

      result = iconv_knows (upper) ? g_intern_string (upper) : "";
      g_hash_table_insert (iconv_names, g_steal_pointer (&key), (gpointer) result);
    }
  G_UNLOCK (iconv_names);

  return *result != '\0' ? result : NULL;
}

static gboolean
is_all_digits (const char *s)
{
  if (*s == '\0')
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isdigit (*s))
      return FALSE;
  return TRUE;
}

static const char *
code_page_name (guint64 number)
{
  g_autofree char *name = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (numbered_code_pages); i++)
    if (numbered_code_pages[i].number == number)
      return numbered_code_pages[i].name;

  /* Windows numbers ISO 8859-n as 28590 + n. */
  if (number >= 28591 && number <= 28606)
    name = g_strdup_printf ("ISO-8859-%u", (guint) (number - 28590));
  else if (number > 0 && number < 100000)
    name = g_strdup_printf ("CP%u", (guint) number);
  else
    return NULL;

  return lookup_iconv_name (name);
}

/* Lower-cases @name and drops spaces, '-' and '_': "Windows-1258" and
 * "ANSI 1258" both become "windows1258"/"ansi1258". */
static char *
squeeze_name (const char *name)
{
  GString *out = g_string_new (NULL);

  for (const char *p = name; *p != '\0'; p++)
    if (*p != ' ' && *p != '-' && *p != '_' && *p != '\t')
      g_string_append_c (out, g_ascii_tolower (*p));

  return g_string_free (out, FALSE);
}

static gboolean
is_plain_name (const char *name)
{
  /* iconv reads "//TRANSLIT" and "//IGNORE" suffixes out of the name. */
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("-_.: ", *p) == NULL)
      return FALSE;
  return TRUE;
}

const char *
dothi_encoding_canonical_name (const char *name)
{
  g_autofree char *trimmed = NULL;
  g_autofree char *key = NULL;
  const char *digits = NULL;

  if (name == NULL)
    return NULL;

  trimmed = g_strstrip (g_strdup (name));
  if (*trimmed == '\0' || g_ascii_strcasecmp (trimmed, "auto") == 0
      || !is_plain_name (trimmed))
    return NULL;

  key = squeeze_name (trimmed);
  for (gsize i = 0; i < G_N_ELEMENTS (encoding_aliases); i++)
    if (strcmp (key, encoding_aliases[i].alias) == 0)
      return encoding_aliases[i].name;

  /* ISO 8859: "ISO-8859-1", "iso8859_1", and ESRI's .cpg "88591". */
  if (g_str_has_prefix (key, "iso8859") || g_str_has_prefix (key, "8859"))
    {
      const char *part = key + (key[0] == 'i' ? 7 : 4);
      g_autofree char *iso = NULL;

      if (!is_all_digits (part) || strlen (part) > 2)
        return NULL;
      iso = g_strdup_printf ("ISO-8859-%u", (guint) g_ascii_strtoull (part, NULL, 10));
      return lookup_iconv_name (iso);
    }

  /* Windows code page numbers: "1250", "cp1250", "windows-1250", "ANSI 1250". */
  if (is_all_digits (key))
    digits = key;
  else if (g_str_has_prefix (key, "windows") && is_all_digits (key + 7))
    digits = key + 7;
  else if (g_str_has_prefix (key, "ansi") && is_all_digits (key + 4))
    digits = key + 4;
  else if (g_str_has_prefix (key, "win") && is_all_digits (key + 3))
    digits = key + 3;
  else if (g_str_has_prefix (key, "cp") && is_all_digits (key + 2))
    digits = key + 2;
  if (digits != NULL)
    {
      if (strlen (digits) > 5)
        return NULL;
      return code_page_name (g_ascii_strtoull (digits, NULL, 10));
    }

  /* Anything else iconv knows ("LATIN1", "KOI8-R", "VISCII", "BIG5"). */
  return lookup_iconv_name (trimmed);
}

const char *
dothi_encoding_from_cpg (const char *contents, gssize len)
{
  g_autofree char *text = NULL;
  gsize start = 0;
  gsize end;

  g_return_val_if_fail (contents != NULL || len == 0, NULL);

  end = len < 0 ? strlen (contents) : (gsize) len;
  if (end >= 3 && memcmp (contents, "\xEF\xBB\xBF", 3) == 0)
    start = 3;
  while (start < end && (g_ascii_isspace (contents[start]) || contents[start] == '\0'))
    start++;
  while (end > start && (g_ascii_isspace (contents[end - 1]) || contents[end - 1] == '\0'))
    end--;

  /* A code page is a short token on one line ("UTF-8", "ANSI 1258",
   * "88591"); a web page saved under the name, or binary junk, is not. */
  if (end == start || end - start > 32)
    return NULL;
  for (gsize i = start; i < end; i++)
    if ((guchar) contents[i] < 0x20 || (guchar) contents[i] > 0x7E)
      return NULL;

  text = g_strndup (contents + start, end - start);
  return dothi_encoding_canonical_name (text);
}

const char *
dothi_encoding_from_ldid (guint8 ldid)
{
  guint cp;

  /* The dBase language driver ids, as GDAL's shapefile driver reads them
   * (from the dBase/FoxPro DBF structure tables). */
  switch (ldid)
    {
    case 0x01: case 0x09: case 0x0B: case 0x0D: case 0x0F: case 0x11:
    case 0x15: case 0x18: case 0x19: case 0x1B:
      cp = 437; break;
    case 0x02: case 0x0A: case 0x0E: case 0x10: case 0x12: case 0x14:
    case 0x16: case 0x1A: case 0x1D: case 0x25: case 0x37:
      cp = 850; break;
    /* 0x57 says "the writer's ANSI code page" (ArcGIS writes it); that is
     * Windows-1252 on western systems, the one reading GDAL takes too. */
    case 0x03: case 0x57: case 0x58: case 0x59:
      cp = 1252; break;
    case 0x04: cp = 10000; break;
    case 0x08: case 0x17: case 0x66: cp = 865; break;
    case 0x13: case 0x7B: cp = 932; break;
    case 0x1C: case 0x6C: cp = 863; break;
    case 0x1F: case 0x22: case 0x23: case 0x40: case 0x64: case 0x87:
      cp = 852; break;
    case 0x24: cp = 860; break;
    case 0x26: case 0x65: cp = 866; break;
    case 0x4D: case 0x7A: cp = 936; break;
    case 0x4E: case 0x79: cp = 949; break;
    case 0x4F: case 0x78: cp = 950; break;
    case 0x50: case 0x7C: cp = 874; break;
    case 0x67: cp = 861; break;
    case 0x6A: case 0x86: cp = 737; break;
    case 0x6B: case 0x88: cp = 857; break;
    case 0x96: cp = 10007; break;
    case 0x97: cp = 10029; break;
    case 0xC8: cp = 1250; break;
    case 0xC9: cp = 1251; break;
    case 0xCA: cp = 1254; break;
    case 0xCB: cp = 1253; break;
    case 0xCC: cp = 1257; break;
    default:
      return NULL;
    }

  return code_page_name (cp);
}

/* Decoders ----------------------------------------------------------- */

static char *
normalize_string (GString *s)
{
  return g_utf8_normalize (s->str, s->len, G_NORMALIZE_NFC);
}

static char *
decode_cp1258 (const guchar *bytes, gsize len)
{
  g_autoptr(GString) out = g_string_sized_new (len + len / 2);

  for (gsize i = 0; i < len; i++)
    {
      if (bytes[i] < 0x80)
        g_string_append_c (out, bytes[i]);
      else
        g_string_append_unichar (out, cp1258_high[bytes[i] - 0x80]);
    }

  return normalize_string (out);
}

static char *
decode_tcvn3 (const guchar *bytes, gsize len)
{
  g_autoptr(GString) out = g_string_sized_new (len + len / 2);

  for (gsize i = 0; i < len; i++)
    {
      if (bytes[i] < 0x80)
        g_string_append_c (out, bytes[i]);
      else if (bytes[i] < 0xA0)
        g_string_append_unichar (out, cp1252_c1[bytes[i] - 0x80]);
      else
        g_string_append_unichar (out, tcvn3_high[bytes[i] - 0xA0]);
    }

  return normalize_string (out);
}

static gboolean
is_vni_base (gunichar c)
{
  return (c != 0 && c < 0x80 && strchr ("aeiouyAEIOUY", (int) c) != NULL)
         || c == 0x01A1 || c == 0x01A0 || c == 0x01B0 || c == 0x01AF;
}

static char *
decode_vni (const guchar *bytes, gsize len)
{
  g_autoptr(GString) out = g_string_sized_new (len + len / 2);
  /* The last letter a diacritic byte may sit on; 0 after anything else. */
  gunichar base = 0;

  for (gsize i = 0; i < len; i++)
    {
      guint8 b = bytes[i];
      guint8 lower = b >= 0xC0 && b < 0xE0 ? b + 0x20 : b;
      gboolean done = FALSE;

      if (b < 0x80)
        {
          g_string_append_c (out, b);
          base = is_vni_base (b) ? b : 0;
          continue;
        }

      if (base != 0 && b >= 0xC0)
        {
          for (gsize m = 0; m < G_N_ELEMENTS (vni_marks) && !done; m++)
            if (vni_marks[m].byte == lower)
              {
                if (vni_marks[m].modifier != 0)
                  g_string_append_unichar (out, vni_marks[m].modifier);
                if (vni_marks[m].tone != 0)
                  g_string_append_unichar (out, vni_marks[m].tone);
                done = TRUE;
              }
          /* A base keeps taking marks ("oâù" is ố too); NFC sorts them. */
          if (done)
            continue;
        }

      base = 0;
      if (b >= 0xC0)
        {
          for (gsize l = 0; l < G_N_ELEMENTS (vni_letters) && !done; l++)
            if (vni_letters[l].byte == lower)
              {
                gunichar c = b == lower ? vni_letters[l].lower : vni_letters[l].upper;

                g_string_append_unichar (out, c);
                base = is_vni_base (c) ? c : 0;
                done = TRUE;
              }
        }
      if (done)
        continue;

      /* A diacritic byte with no vowel before it, or any other byte:
       * Windows-1252, which is Latin-1 from 0xA0. */
      g_string_append_unichar (out, b < 0xA0 ? cp1252_c1[b - 0x80] : b);
    }

  return normalize_string (out);
}

static char *
decode_iconv (const char *encoding, const char *bytes, gsize len,
              GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *utf8 = NULL;
  gsize written = 0;

  utf8 = g_convert (bytes, len, "UTF-8", encoding, NULL, &written, &local_error);
  if (utf8 == NULL)
    {
      if (g_error_matches (local_error, G_CONVERT_ERROR, G_CONVERT_ERROR_NO_CONVERSION))
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                     /* Translators: an encoding name such as "CP1250" */
                     _("Unknown text encoding “%s”"), encoding);
      else
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: an encoding name such as "UTF-8" or "CP1250" */
                     _("Text is not valid %s"), encoding);
      return NULL;
    }

  /* iconv's output is UTF-8 by construction; a NUL ends the value. */
  return g_utf8_normalize (utf8, strlen (utf8), G_NORMALIZE_NFC);
}

char *
dothi_encoding_decode (const char       *encoding,
                       const char       *bytes,
                       gssize            len,
                       DothiDecodeFlags  flags,
                       GError          **error)
{
  const char *canonical;
  const char *nul;
  gsize n;
  char *result;

  g_return_val_if_fail (encoding != NULL, NULL);
  g_return_val_if_fail (bytes != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (bytes == NULL)
    bytes = "";
  n = len < 0 ? strlen (bytes) : (gsize) len;

  canonical = dothi_encoding_canonical_name (encoding);
  if (canonical == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: an encoding name such as "CP1250" */
                   _("Unknown text encoding “%s”"), encoding);
      return NULL;
    }

  /* iconv handles multi-byte encodings (UTF-16 has NUL bytes) itself. */
  if (!is_encoding (canonical, DOTHI_ENCODING_UTF8)
      && !is_encoding (canonical, DOTHI_ENCODING_CP1258)
      && !is_encoding (canonical, DOTHI_ENCODING_TCVN3)
      && !is_encoding (canonical, DOTHI_ENCODING_VNI))
    return decode_iconv (canonical, bytes, n, error);

  /* DBF and fixed-width fields pad with NULs: a NUL ends the value. */
  nul = memchr (bytes, '\0', n);
  if (nul != NULL)
    n = nul - bytes;

  if (is_encoding (canonical, DOTHI_ENCODING_UTF8))
    {
      if (!g_utf8_validate_len (bytes, n, NULL))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: an encoding name such as "UTF-8" or "CP1250" */
                       _("Text is not valid %s"), canonical);
          return NULL;
        }
      return g_utf8_normalize (bytes, n, G_NORMALIZE_NFC);
    }

  if (is_encoding (canonical, DOTHI_ENCODING_CP1258))
    return decode_cp1258 ((const guchar *) bytes, n);

  if (is_encoding (canonical, DOTHI_ENCODING_VNI))
    return decode_vni ((const guchar *) bytes, n);

  result = decode_tcvn3 ((const guchar *) bytes, n);
  if (flags & DOTHI_DECODE_TCVN3_CAPS)
    {
      g_autofree char *lower = result;
      g_autofree char *upper = g_utf8_strup (lower, -1);

      result = g_utf8_normalize (upper, -1, G_NORMALIZE_NFC);
    }
  return result;
}

/* Detection ---------------------------------------------------------- */

/* Toneless vowel nuclei of Vietnamese syllables, glides included. A '+'
 * ending means a final consonant must follow, '-' that none may: a
 * nucleus ending in the glide i, y, o or u closes the syllable. */
static const char * const vowel_nuclei[] = {
  "a", "ă+", "â+", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y-",
  "ai-", "ao-", "au-", "ay-", "âu-", "ây-", "eo-", "êu-", "ia-", "iê+",
  "iu-", "oa", "oă+", "oe", "oi-", "oo+", "ôi-", "ơi-", "ua-", "uâ+", "uê",
  "ui-", "uô+", "uơ-", "uy", "ưa-", "ưi-", "ươ+", "ưu-", "yê+",
  "iêu-", "yêu-", "oai-", "oao-", "oay-", "oeo-", "uây-", "uôi-", "uya-",
  "uyê+", "uyu-", "ươi-", "ươu-",
};

/* Every initial that fits is tried, "ngh" as well as "ng" and "n". */
static const char * const initial_consonants[] = {
  "ngh", "ch", "gh", "gi", "kh", "ng", "nh", "ph", "qu", "th", "tr",
  "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t",
  "v", "x", "",
};

/* "k" only in Central Highlands names (Đắk Lắk). */
static const char * const final_consonants[] = {
  "ch", "ng", "nh", "c", "k", "m", "n", "p", "t", "",
};

enum {
  TONE_NONE,
  TONE_GRAVE,
  TONE_ACUTE,
  TONE_TILDE,
  TONE_HOOK,
  TONE_DOT,
};

/* Splits a lower-case letter into its toneless Vietnamese letter and its
 * tone; FALSE when it is not a letter of the Vietnamese alphabet. */
static gboolean
split_letter (gunichar c, gunichar *letter, int *tone)
{
  gunichar parts[4];
  gsize n;
  gunichar modifier = 0;

  *tone = TONE_NONE;
  if (c == 0x0111)  /* đ has no decomposition */
    {
      *letter = c;
      return TRUE;
    }

  n = g_unichar_fully_decompose (c, FALSE, parts, G_N_ELEMENTS (parts));
  if (n == 0 || parts[0] > 0x7F || !g_ascii_islower (parts[0])
      || (n > 1 && strchr ("aeiouy", (int) parts[0]) == NULL))
    return FALSE;

  for (gsize i = 1; i < n; i++)
    {
      switch (parts[i])
        {
        case 0x0300: case 0x0301: case 0x0303: case 0x0309: case 0x0323:
          if (*tone != TONE_NONE)
            return FALSE;
          *tone = parts[i] == 0x0300 ? TONE_GRAVE
                  : parts[i] == 0x0301 ? TONE_ACUTE
                  : parts[i] == 0x0303 ? TONE_TILDE
                  : parts[i] == 0x0309 ? TONE_HOOK : TONE_DOT;
          break;
        case 0x0302: case 0x0306: case 0x031B:
          if (modifier != 0)
            return FALSE;
          modifier = parts[i];
          break;
        default:
          return FALSE;
        }
    }

  switch (modifier)
    {
    case 0:
      *letter = parts[0];
      return TRUE;
    case 0x0302:
      *letter = parts[0] == 'a' ? 0x00E2 : parts[0] == 'e' ? 0x00EA
                : parts[0] == 'o' ? 0x00F4 : 0;
      break;
    case 0x0306:
      *letter = parts[0] == 'a' ? 0x0103 : 0;
      break;
    default:  /* horn */
      *letter = parts[0] == 'o' ? 0x01A1 : parts[0] == 'u' ? 0x01B0 : 0;
      break;
    }
  return *letter != 0;
}

static gboolean
nucleus_is_valid (const char *nucleus, const char *final)
{
  gsize len = strlen (nucleus);

  /* ch and nh close only a, ê, i (and oa, uê, uy): "anh", "ếch", "uỳnh". */
  if ((strcmp (final, "ch") == 0 || strcmp (final, "nh") == 0)
      && strcmp (nucleus, "a") != 0 && strcmp (nucleus, "ê") != 0
      && strcmp (nucleus, "i") != 0 && strcmp (nucleus, "oa") != 0
      && strcmp (nucleus, "uê") != 0 && strcmp (nucleus, "uy") != 0)
    return FALSE;

  for (gsize i = 0; i < G_N_ELEMENTS (vowel_nuclei); i++)
    {
      const char *v = vowel_nuclei[i];
      gsize vlen = strlen (v);
      char rule = v[vlen - 1];

      if (rule == '+' || rule == '-')
        vlen--;
      if (vlen != len || strncmp (v, nucleus, len) != 0)
        continue;
      if (rule == '+')
        return *final != '\0';
      if (rule == '-')
        return *final == '\0';
      return TRUE;
    }
  return FALSE;
}

static gboolean
initial_fits (const char *initial, const char *nucleus)
{
  /* Spelling rules: k, gh and ngh only before e ê i y; c, g and ng not
   * before them ("gì" is gi + ì, so g may stand before i). */
  gboolean front = g_str_has_prefix (nucleus, "e") || g_str_has_prefix (nucleus, "ê")
                   || g_str_has_prefix (nucleus, "i") || g_str_has_prefix (nucleus, "y");

  if (strcmp (initial, "k") == 0 || strcmp (initial, "gh") == 0
      || strcmp (initial, "ngh") == 0)
    return front;
  if (strcmp (initial, "c") == 0 || strcmp (initial, "ng") == 0)
    return !front;
  if (strcmp (initial, "g") == 0)
    return !g_str_has_prefix (nucleus, "e") && !g_str_has_prefix (nucleus, "ê");
  return TRUE;
}

/* TRUE when the lower-case NFC @word is one Vietnamese syllable: initial
 * consonant, vowel nucleus, final consonant, at most one tone, and only
 * sắc or nặng before a stop (p, t, c, ch). */
static gboolean
syllable_is_valid (const char *word)
{
  g_autoptr(GString) toneless = g_string_new (NULL);
  int tone = TONE_NONE;

  for (const char *p = word; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar letter;
      int t;

      if (!split_letter (g_utf8_get_char (p), &letter, &t))
        return FALSE;
      if (t != TONE_NONE)
        {
          if (tone != TONE_NONE)
            return FALSE;
          tone = t;
        }
      g_string_append_unichar (toneless, letter);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (initial_consonants); i++)
    {
      const char *initial = initial_consonants[i];
      const char *rest;

      if (!g_str_has_prefix (toneless->str, initial))
        continue;
      rest = toneless->str + strlen (initial);

      for (gsize f = 0; f < G_N_ELEMENTS (final_consonants); f++)
        {
          const char *final = final_consonants[f];
          gsize rest_len = strlen (rest);
          gsize final_len = strlen (final);
          g_autofree char *nucleus = NULL;
          gboolean stop;

          if (final_len >= rest_len || !g_str_has_suffix (rest, final))
            continue;
          nucleus = g_strndup (rest, rest_len - final_len);
          if (!nucleus_is_valid (nucleus, final)
              || !initial_fits (initial, nucleus))
            continue;
          stop = strcmp (final, "p") == 0 || strcmp (final, "t") == 0
                 || strcmp (final, "c") == 0 || strcmp (final, "ch") == 0
                 || strcmp (final, "k") == 0;
          if (stop && tone != TONE_ACUTE && tone != TONE_DOT)
            continue;
          return TRUE;
        }
    }
  return FALSE;
}

typedef struct {
  guint good;  /* non-ASCII words that are Vietnamese syllables */
  guint bad;   /* other non-ASCII words and stray symbols */
} Plausibility;

static gboolean
is_harmless_symbol (gunichar c)
{
  switch (c)
    {
    case 0x00A0:  /* no-break space */
    case 0x00B0:  /* ° */
    case 0x00B2:  /* ² as in m² */
    case 0x00B3:
    case 0x00D7:  /* × */
    case 0x2013: case 0x2014: case 0x2018: case 0x2019:
    case 0x201C: case 0x201D: case 0x2026:
      return TRUE;
    default:
      return FALSE;
    }
}

static void
score_word (const char *start, const char *end, Plausibility *score)
{
  g_autofree char *lower = NULL;
  gboolean ascii = TRUE;
  gboolean seen_lower = FALSE;

  for (const char *p = start; p < end; p++)
    if ((guchar) *p >= 0x80)
      ascii = FALSE;
  if (ascii)
    return;  /* every candidate decodes ASCII the same way */

  /* Words are lower case, Capitalised or ALL CAPS: a capital after a
   * small letter ("HơÌ") is a wrong decoding. */
  for (const char *p = start; p < end; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_islower (c))
        seen_lower = TRUE;
      else if (seen_lower && g_unichar_isupper (c))
        {
          score->bad++;
          return;
        }
    }

  lower = g_utf8_strdown (start, end - start);
  if (g_utf8_strlen (lower, -1) == 1)
    {
      gunichar letter;
      int tone;

      /* A lone letter ("Đ." for đường) says little either way. */
      if (!split_letter (g_utf8_get_char (lower), &letter, &tone))
        score->bad++;
      return;
    }

  if (syllable_is_valid (lower))
    score->good++;
  else
    score->bad++;
}

static void
score_text (const char *text, Plausibility *score)
{
  const char *word = NULL;

  for (const char *p = text; ; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean in_word = c != 0 && (g_unichar_isalpha (c) || g_unichar_ismark (c));

      if (in_word && word == NULL)
        word = p;
      else if (!in_word && word != NULL)
        {
          score_word (word, p, score);
          word = NULL;
        }

      if (c == 0)
        break;
      if (!in_word && c >= 0x80 && !is_harmless_symbol (c))
        score->bad++;
      else if (!in_word && c < 0x20 && c != '\t' && c != '\n' && c != '\r')
        score->bad++;
    }
}

const char *
dothi_encoding_detect (const char * const *samples,
                       guint               n_samples,
                       double             *confidence)
{
  /* Order breaks ties: TCVN3 is the government standard most legacy
   * cadastral data uses, VNI was common in the south. */
  static const char * const candidates[] = {
    DOTHI_ENCODING_TCVN3, DOTHI_ENCODING_VNI, DOTHI_ENCODING_CP1258,
  };
  double ratio[G_N_ELEMENTS (candidates)] = { 0 };
  Plausibility scores[G_N_ELEMENTS (candidates)] = { { 0 } };
  gboolean all_utf8 = TRUE;
  gsize best = 0;
  double second = 0.0;

  g_return_val_if_fail (samples != NULL || n_samples == 0, NULL);

  for (guint i = 0; i < n_samples && all_utf8; i++)
    if (samples[i] != NULL && !g_utf8_validate (samples[i], -1, NULL))
      all_utf8 = FALSE;
  if (all_utf8)
    {
      if (confidence != NULL)
        *confidence = 1.0;
      return DOTHI_ENCODING_UTF8;
    }

  for (gsize c = 0; c < G_N_ELEMENTS (candidates); c++)
    {
      for (guint i = 0; i < n_samples; i++)
        {
          g_autofree char *text = NULL;

          if (samples[i] == NULL)
            continue;
          text = dothi_encoding_decode (candidates[c], samples[i], -1,
                                        DOTHI_DECODE_NONE, NULL);
          g_assert (text != NULL);
          score_text (text, &scores[c]);
        }
      if (scores[c].good + scores[c].bad > 0)
        ratio[c] = (double) scores[c].good / (scores[c].good + scores[c].bad);
    }

  for (gsize c = 1; c < G_N_ELEMENTS (candidates); c++)
    if (ratio[c] > ratio[best]
        || (ratio[c] == ratio[best] && scores[c].good > scores[best].good))
      best = c;
  for (gsize c = 0; c < G_N_ELEMENTS (candidates); c++)
    if (c != best && ratio[c] > second)
      second = ratio[c];

  /* High when the winner reads as Vietnamese and the others do not. */
  if (confidence != NULL)
    *confidence = ratio[best] * (1.0 - second / 2.0);
  return candidates[best];
}

/* NFC ---------------------------------------------------------------- */

/* TRUE when @text is certainly NFC without normalising it: every code
 * point below U+0300 or in Latin Extended Additional (U+1E00-U+1EFF) has
 * NFC_Quick_Check=Yes, and Vietnamese precomposed text uses nothing else.
 * Normalising every value costs a fifth of a million-parcel import. */
static gboolean
is_nfc_quick (const char *text, gssize len)
{
  const guchar *p = (const guchar *) text;
  const guchar *end = len < 0 ? NULL : p + len;

  while (end == NULL ? *p != '\0' : p < end)
    {
      gunichar c;

      if (*p < 0x80)
        {
          p++;
          continue;
        }
      c = g_utf8_get_char ((const char *) p);
      if (c >= 0x300 && (c < 0x1E00 || c > 0x1EFF))
        return FALSE;
      p = (const guchar *) g_utf8_next_char (p);
    }
  return TRUE;
}

char *
dothi_encoding_nfc (const char *text, gssize len)
{
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (g_utf8_validate (text, len, NULL), NULL);

  if (is_nfc_quick (text, len))
    return len < 0 ? g_strdup (text) : g_strndup (text, (gsize) len);
  return g_utf8_normalize (text, len, G_NORMALIZE_NFC);
}

gboolean
dothi_encoding_is_nfc (const char *text)
{
  g_autofree char *nfc = NULL;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (g_utf8_validate (text, -1, NULL), FALSE);

  if (is_nfc_quick (text, -1))
    return TRUE;

  nfc = g_utf8_normalize (text, -1, G_NORMALIZE_NFC);
  return g_strcmp0 (nfc, text) == 0;
}
