/* test-encoding.c: decoding of UTF-8, CP1258, TCVN3, VNI and iconv code
 * pages, encoding names from users, .cpg files and DBF headers, and
 * detection of legacy Vietnamese text. */
#include "dothi-encoding.h"
#include "dothi-error.h"
#include "test-util.h"

#include <string.h>

/* Vowels with their modifier, and the five tones in the order
 * none, grave (huyền), hook (hỏi), tilde (ngã), acute (sắc), dot (nặng). */
static const char * const vowels[] = {
  "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y",
};
static const char * const tone_marks[] = {
  "", "\xCC\x80", "\xCC\x89", "\xCC\x83", "\xCC\x81", "\xCC\xA3",
};

/* Real strings (names, places, land use) that between them hold every
 * lower-case toned vowel; test_letters_covered() checks that. */
static const char * const real_strings[] = {
  "Nguyễn Văn Đức",
  "Trần Thị Hồng Nhung",
  "Phường Tân Lập",
  "Buôn Ma Thuột",
  "Đắk Lắk",
  "Uỷ ban nhân dân xã Ẳng Nưa",
  "Đất ở tại đô thị",
  "Đất trồng lúa nước còn lại",
  "Đất nuôi trồng thuỷ sản",
  "Giấy chứng nhận quyền sử dụng đất",
  "Hoàng Quốc Việt",
  "Lê Thị Mỹ Dung",
  "Phạm Ngọc Ẩn",
  "Khuỷu sông ngoằn ngoèo",
  "Ông Ích Khiêm",
  "Ấp Đông Hải",
  "Ỷ Lan, Thị trấn Ỹ",
  "cửa hàng bán lẻ, sữa đặc, gỗ lim, bờ đê",
  "Thửa đất số 12, tờ bản đồ số 3",
  "giữ gìn, kẽm gai, nghỉ ngơi, vẫn vậy",
  "chợ Ẩm thực, mỡ màng, trẻ nhỏ",
  "bẵng đi, cặp sách, chặt chẽ, hẳn hoi",
  "nhẫn nại, vỗ về, sẵn sàng, lẫn lộn",
  "ngẫm nghĩ, bẩm sinh, quả ổi, tuổi trẻ",
  "dễ dãi, tiễn đưa, lũ lụt, mũi né",
  "xã Ỵ Tý, Mường Tè, ẵm bồng",
  "Kỳ Anh, Ỳ Lan, chỉ huy, tuỳ ý",
  "Yên Thế, ỹ, ĩ, ỵ",
  "đền Ảnh, ẽo ợt, ồn ào, ỡm ờ",
  "Ủy ban, Ũ, Ụ",
  "Ngõ 5 ven đường, mẹ con, bể bơi, có vùng rừng núi",
};

static char *
compose_letter (const char *vowel, int tone, gboolean upper)
{
  g_autofree char *joined = g_strconcat (vowel, tone_marks[tone], NULL);
  g_autofree char *nfc = g_utf8_normalize (joined, -1, G_NORMALIZE_NFC);

  return upper ? g_utf8_strup (nfc, -1) : g_steal_pointer (&nfc);
}

/* Every Vietnamese vowel letter with every tone, plus đ: 74 lower-case
 * letters (67 of them non-ASCII) and as many capitals. */
static GPtrArray *
all_letters (void)
{
  GPtrArray *letters = g_ptr_array_new_with_free_func (g_free);

  for (int upper = 0; upper < 2; upper++)
    {
      for (gsize v = 0; v < G_N_ELEMENTS (vowels); v++)
        for (int t = 0; t < 6; t++)
          g_ptr_array_add (letters, compose_letter (vowels[v], t, upper));
      g_ptr_array_add (letters, g_strdup (upper ? "Đ" : "đ"));
    }
  return letters;
}

/* Test-side encoders ------------------------------------------------- */

/* TCVN3 bytes for vowels[v] with tone t, typed from Unikey's TCVN3
 * table; test_tcvn3_table() checks them against glibc's TCVN5712-1. */
static const guint8 tcvn3_bytes[12][6] = {
  { 'a',  0xB5, 0xB6, 0xB7, 0xB8, 0xB9 },  /* a */
  { 0xA8, 0xBB, 0xBC, 0xBD, 0xBE, 0xC6 },  /* ă */
  { 0xA9, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB },  /* â */
  { 'e',  0xCC, 0xCE, 0xCF, 0xD0, 0xD1 },  /* e */
  { 0xAA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6 },  /* ê */
  { 'i',  0xD7, 0xD8, 0xDC, 0xDD, 0xDE },  /* i */
  { 'o',  0xDF, 0xE1, 0xE2, 0xE3, 0xE4 },  /* o */
  { 0xAB, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9 },  /* ô */
  { 0xAC, 0xEA, 0xEB, 0xEC, 0xED, 0xEE },  /* ơ */
  { 'u',  0xEF, 0xF1, 0xF2, 0xF3, 0xF4 },  /* u */
  { 0xAD, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9 },  /* ư */
  { 'y',  0xFA, 0xFB, 0xFC, 0xFD, 0xFE },  /* y */
};

/* Finds @c among the composed letters: vowel index, tone, case. */
static gboolean
find_letter (gunichar c, gsize *vowel, int *tone, gboolean *upper)
{
  char buf[8] = { 0 };

  g_unichar_to_utf8 (c, buf);
  for (int u = 0; u < 2; u++)
    for (gsize v = 0; v < G_N_ELEMENTS (vowels); v++)
      for (int t = 0; t < 6; t++)
        {
          g_autofree char *letter = compose_letter (vowels[v], t, u);

          if (strcmp (letter, buf) == 0)
            {
              *vowel = v;
              *tone = t;
              *upper = u;
              return TRUE;
            }
        }
  return FALSE;
}

/* NULL when @text holds a letter TCVN3 cannot write (toned capitals). */
static char *
encode_tcvn3 (const char *text)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gsize v;
      int t;
      gboolean upper;

      if (c < 0x80)
        g_string_append_c (out, (char) c);
      else if (c == 0x0111)
        g_string_append_c (out, (char) 0xAE);
      else if (c == 0x0110)
        g_string_append_c (out, (char) 0xA7);
      else if (find_letter (c, &v, &t, &upper))
        {
          if (!upper)
            g_string_append_c (out, (char) tcvn3_bytes[v][t]);
          else if (t == 0)
            {
              /* Ă Â Ê Ô Ơ Ư sit 7 below their lower-case letters. */
              g_assert_cmpuint (tcvn3_bytes[v][0], >=, 0xA8);
              g_string_append_c (out, (char) (tcvn3_bytes[v][0] - 7));
            }
          else
            return NULL;
        }
      else
        g_assert_not_reached ();
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* VNI diacritic bytes (lower case) by modifier row and tone column, typed
 * from the vietnamese-conversion (npm) table. */
static const guint8 vni_marks[3][6] = {
  { 0,    0xF8, 0xFB, 0xF5, 0xF9, 0xEF },  /* no modifier, or horn */
  { 0xE2, 0xE0, 0xE5, 0xE3, 0xE1, 0xE4 },  /* circumflex */
  { 0xEA, 0xE8, 0xFA, 0xFC, 0xE9, 0xEB },  /* breve */
};
static const guint8 vni_i[6] = { 'i', 0xEC, 0xE6, 0xF3, 0xED, 0xF2 };

static char *
encode_vni (const char *text)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      guint8 shift;
      gsize v;
      int t;
      gboolean upper;

      if (c < 0x80)
        {
          g_string_append_c (out, (char) c);
          continue;
        }
      if (c == 0x0111 || c == 0x0110)
        {
          g_string_append_c (out, (char) (c == 0x0111 ? 0xF1 : 0xD1));
          continue;
        }
      if (!find_letter (c, &v, &t, &upper))
        g_assert_not_reached ();

      /* Capitals use the base capital and the diacritic byte minus 0x20. */
      shift = upper ? 0x20 : 0;
      if (strcmp (vowels[v], "i") == 0)
        g_string_append_c (out, (char) (vni_i[t] - shift));
      else if (strcmp (vowels[v], "y") == 0 && t == 5)
        g_string_append_c (out, (char) (0xEE - shift));
      else
        {
          const char *base = vowels[v];
          int row = 0;

          if (strcmp (base, "ă") == 0 || strcmp (base, "â") == 0)
            {
              row = strcmp (base, "ă") == 0 ? 2 : 1;
              base = "a";
            }
          else if (strcmp (base, "ê") == 0)
            {
              row = 1;
              base = "e";
            }
          else if (strcmp (base, "ô") == 0)
            {
              row = 1;
              base = "o";
            }

          if (strcmp (base, "ơ") == 0)
            g_string_append_c (out, (char) (0xF4 - shift));
          else if (strcmp (base, "ư") == 0)
            g_string_append_c (out, (char) (0xF6 - shift));
          else
            g_string_append_c (out, (char) (upper ? g_ascii_toupper (*base) : *base));
          if (vni_marks[row][t] != 0)
            g_string_append_c (out, (char) (vni_marks[row][t] - shift));
        }
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* CP1258 through glibc's iconv, an implementation independent of Dothi's
 * table; it writes toned letters as base letter + combining tone byte. */
static char *
encode_cp1258 (const char *text)
{
  g_autoptr(GError) error = NULL;
  char *bytes = g_convert (text, -1, "CP1258", "UTF-8", NULL, NULL, &error);

  g_assert_no_error (error);
  return bytes;
}

static char *
encode (const char *encoding, const char *text)
{
  if (strcmp (encoding, DOTHI_ENCODING_CP1258) == 0)
    return encode_cp1258 (text);
  if (strcmp (encoding, DOTHI_ENCODING_TCVN3) == 0)
    return encode_tcvn3 (text);
  return encode_vni (text);
}

/* The Windows-1252 bytes of @text: legacy strings as they show in a
 * western font, which is how converters and forum posts print them. */
static char *
ansi_bytes (const char *text)
{
  g_autoptr(GError) error = NULL;
  char *bytes = g_convert (text, -1, "CP1252", "UTF-8", NULL, NULL, &error);

  g_assert_no_error (error);
  return bytes;
}

static void
assert_decodes (const char *encoding, const char *bytes, const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = dothi_encoding_decode (encoding, bytes, -1,
                                                 DOTHI_DECODE_NONE, &error);
  g_autofree char *nfc = g_utf8_normalize (expected, -1, G_NORMALIZE_NFC);

  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, nfc);
  g_assert_true (dothi_encoding_is_nfc (text));
}

/* Tables ------------------------------------------------------------- */

static void
test_letters_covered (void)
{
  g_autoptr(GPtrArray) letters = all_letters ();
  g_autoptr(GString) joined = g_string_new (NULL);
  guint non_ascii = 0;

  g_assert_cmpuint (letters->len, ==, 2 * (12 * 6 + 1));
  for (gsize i = 0; i < G_N_ELEMENTS (real_strings); i++)
    {
      g_autofree char *lower = g_utf8_strdown (real_strings[i], -1);
      g_autofree char *nfc = g_utf8_normalize (lower, -1, G_NORMALIZE_NFC);

      g_string_append (joined, nfc);
    }
  for (guint i = 0; i < letters->len; i++)
    {
      const char *letter = letters->pdata[i];

      if ((guchar) letter[0] >= 0x80)
        non_ascii++;
      if (g_unichar_islower (g_utf8_get_char (letter)))
        g_assert_nonnull (strstr (joined->str, letter));
    }
  g_assert_cmpuint (non_ascii, ==, 134);
}

static void
test_tcvn3_table (void)
{
  /* The test's TCVN3 bytes (from Unikey) against glibc's TCVN5712-1,
   * which agrees with VN3 on lower-case letters and Ă Â Ê Ô Ơ Ư Đ. */
  for (gsize v = 0; v < G_N_ELEMENTS (vowels); v++)
    for (int t = 0; t < 6; t++)
      for (int upper = 0; upper < 2; upper++)
        {
          g_autofree char *letter = compose_letter (vowels[v], t, upper);
          g_autofree char *ours = encode_tcvn3 (letter);
          g_autofree char *glibc = NULL;

          if (ours == NULL)
            continue;
          glibc = g_convert (letter, -1, "TCVN5712-1", "UTF-8", NULL, NULL, NULL);
          g_assert_nonnull (glibc);
          g_assert_cmpstr (ours, ==, glibc);
        }
}

static void
assert_ansi_decodes (const char *encoding, const char *ansi, const char *expected)
{
  g_autofree char *bytes = ansi_bytes (ansi);

  assert_decodes (encoding, bytes, expected);
}

static void
test_vni_published (void)
{
  /* Strings as other converters and font tables print them. */
  assert_ansi_decodes ("VNI", "Xin chaøo caùc baïn", "Xin chào các bạn");
  assert_ansi_decodes ("VNI", "Vieät Nam", "Việt Nam");
  assert_ansi_decodes ("VNI", "Nguyeãn Vaên Ñöùc", "Nguyễn Văn Đức");
  assert_ansi_decodes ("VNI", "ÑÖÔØNG", "ĐƯỜNG");
  assert_ansi_decodes ("VNI", "AÙ AØ AÛ AÕ AÏ OÂ ÔÙ ÖÏ Î YÕ", "Á À Ả Ã Ạ Ô Ớ Ự Ỵ Ỹ");
  assert_ansi_decodes ("VNI", "Ñoàng Nai, Bieân Hoøa", "Đồng Nai, Biên Hòa");
}

static void
check_encoding_letters (const char *encoding)
{
  g_autoptr(GPtrArray) letters = all_letters ();
  guint checked = 0;

  for (guint i = 0; i < letters->len; i++)
    {
      const char *letter = letters->pdata[i];
      g_autofree char *last = g_strconcat ("x", letter, NULL);
      g_autofree char *first = g_strconcat (letter, "x", NULL);
      g_autofree char *bytes_alone = encode (encoding, letter);
      g_autofree char *bytes_last = encode (encoding, last);
      g_autofree char *bytes_first = encode (encoding, first);

      if (bytes_alone == NULL)
        continue;
      assert_decodes (encoding, bytes_alone, letter);
      assert_decodes (encoding, bytes_last, last);
      assert_decodes (encoding, bytes_first, first);
      checked++;
    }

  /* TCVN3 lacks the 60 toned capitals. */
  g_assert_cmpuint (checked, ==, strcmp (encoding, "TCVN3") == 0 ? 146 - 60 : 146);
}

static void
check_encoding_strings (const char *encoding)
{
  g_autoptr(GString) all = g_string_new (NULL);
  g_autofree char *all_bytes = NULL;
  guint checked = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (real_strings); i++)
    {
      g_autofree char *bytes = encode (encoding, real_strings[i]);
      g_autofree char *lower = g_utf8_strdown (real_strings[i], -1);
      g_autofree char *lower_bytes = encode (encoding, lower);

      if (bytes != NULL)
        {
          assert_decodes (encoding, bytes, real_strings[i]);
          checked++;
        }
      assert_decodes (encoding, lower_bytes, lower);
      g_string_append (all, lower);
      g_string_append_c (all, ' ');
    }
  g_assert_cmpuint (checked, >=, 10);

  all_bytes = encode (encoding, all->str);
  assert_decodes (encoding, all_bytes, all->str);
}

static void
test_cp1258 (void)
{
  check_encoding_letters ("CP1258");
  check_encoding_strings ("CP1258");

  /* Decomposed as Windows writes it, the tone byte last. */
  assert_decodes ("CP1258", "Vi\xEA\xF2t Nam", "Việt Nam");
  assert_decodes ("CP1258", "H\xF4\xCC", "Hồ");
  assert_decodes ("cp1258", "\xD0\xE3\xEC", "Đắ");
  assert_decodes ("windows-1258", "\x80 \xFE \x93x\x94", "€ ₫ “x”");
}

static void
test_tcvn3 (void)
{
  check_encoding_letters ("TCVN3");
  check_encoding_strings ("TCVN3");

  assert_ansi_decodes ("TCVN3", "Hå ChÝ Minh", "Hồ Chí Minh");
  assert_ansi_decodes ("TCVN3", "NguyÔn V¨n §øc", "Nguyễn Văn Đức");
  assert_decodes ("TCVN3", "\xA7\xB5 N\xAFng", "Đà NẰng");
  /* Windows punctuation through the ANSI fonts, and ASCII controls kept. */
  assert_decodes ("abc", "\x93H\xE5\x94 \x96 1\t2", "“Hồ” – 1\t2");
  /* A NUL ends a padded DBF value. */
  {
    g_autofree char *text = dothi_encoding_decode ("TCVN3", "ab\0cd", 5,
                                                   DOTHI_DECODE_NONE, NULL);
    g_assert_cmpstr (text, ==, "ab");
  }
}

static void
test_tcvn3_vn2_capitals (void)
{
  /* The capitals VN2 puts in bytes VN3 leaves free decode as capitals;
   * glibc's TCVN5712-1 gives the bytes. */
  guint found = 0;

  for (gsize v = 0; v < G_N_ELEMENTS (vowels); v++)
    for (int t = 1; t < 6; t++)
      {
        g_autofree char *letter = compose_letter (vowels[v], t, TRUE);
        g_autofree char *bytes = g_convert (letter, -1, "TCVN5712-1", "UTF-8",
                                            NULL, NULL, NULL);

        if (bytes == NULL || strlen (bytes) != 1 || (guchar) bytes[0] < 0xA0)
          continue;
        assert_decodes ("TCVN3", bytes, letter);
        found++;
      }
  g_assert_cmpuint (found, ==, 16);
}

static void
test_tcvn3_caps (void)
{
  g_autofree char *bytes = encode_tcvn3 ("nguyễn văn đức, phường tân lập");
  g_autofree char *mixed = encode_tcvn3 ("Nguyễn Văn Đức");
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;
  g_autofree char *vni = NULL;

  text = dothi_encoding_decode ("TCVN3", bytes, -1, DOTHI_DECODE_TCVN3_CAPS, NULL);
  g_assert_cmpstr (text, ==, "NGUYỄN VĂN ĐỨC, PHƯỜNG TÂN LẬP");
  g_assert_true (dothi_encoding_is_nfc (text));
  text2 = dothi_encoding_decode ("TCVN3", mixed, -1, DOTHI_DECODE_TCVN3_CAPS, NULL);
  g_assert_cmpstr (text2, ==, "NGUYỄN VĂN ĐỨC");

  /* Only TCVN3 has capital fonts to speak of. */
  vni = dothi_encoding_decode ("VNI", "Vie\xE4t", -1, DOTHI_DECODE_TCVN3_CAPS, NULL);
  g_assert_cmpstr (vni, ==, "Việt");
}

static void
test_vni (void)
{
  check_encoding_letters ("VNI");
  check_encoding_strings ("VNI");

  /* The last byte is a diacritic: it must not be dropped. */
  assert_ansi_decodes ("VNI", "Hoaø", "Hoà");
  assert_ansi_decodes ("VNI", "Nguyeã", "Nguyễ");
  assert_ansi_decodes ("VNI", "Ñöù", "Đứ");
  /* Modifier and tone as two bytes. */
  assert_ansi_decodes ("VNI", "oâù", "ố");
  /* A diacritic byte with no vowel before it is Windows-1252. */
  assert_decodes ("VNI", "\xF9 n\xF8 \x93x\x94", "ù nø “x”");
}

static void
test_utf8 (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *nfc = NULL;

  /* Decomposed input comes out precomposed. */
  nfc = dothi_encoding_decode ("utf8", "Vie\xCC\x82\xCC\xA3t", -1, DOTHI_DECODE_NONE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (nfc, ==, "Việt");

  text = dothi_encoding_decode ("UTF-8", "Vi\xEA\xF2t", -1, DOTHI_DECODE_NONE, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_null (text);
  g_assert_nonnull (strstr (error->message, "UTF-8"));
}

static void
test_iconv (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *unknown = NULL;

  text = dothi_encoding_decode ("ANSI 1250", "\xA3\xF3\x64\x9F \x8A\x9A", -1,
                                DOTHI_DECODE_NONE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "Łódź Šš");

  /* 0x81 is undefined in CP1250. */
  bad = dothi_encoding_decode ("CP1250", "a\x81", -1, DOTHI_DECODE_NONE, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_null (bad);
  g_assert_nonnull (strstr (error->message, "CP1250"));
  g_clear_error (&error);

  unknown = dothi_encoding_decode ("klingon", "a", -1, DOTHI_DECODE_NONE, &error);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED);
  g_assert_null (unknown);
  g_assert_nonnull (strstr (error->message, "klingon"));
}

/* Names -------------------------------------------------------------- */

static void
test_canonical_names (void)
{
  static const struct {
    const char *name;
    const char *canonical;
  } cases[] = {
    { "auto", NULL }, { "", NULL }, { "  ", NULL }, { "AUTO", NULL },
    { "utf8", "UTF-8" }, { "UTF-8", "UTF-8" }, { "65001", "UTF-8" },
    { "1258", "CP1258" }, { "cp1258", "CP1258" }, { "Windows-1258", "CP1258" },
    { "ANSI 1258", "CP1258" },
    { "tcvn3", "TCVN3" }, { "TCVN", "TCVN3" }, { "ABC", "TCVN3" },
    { "tcvn-5712", "TCVN3" }, { "TCVN5712-1", "TCVN3" }, { ".VnTime", "TCVN3" },
    { "vntime", "TCVN3" },
    { "vni", "VNI" }, { "VNI-Win", "VNI" }, { "vni-windows", "VNI" },
    { "ANSI 1250", "CP1250" }, { "1250", "CP1250" }, { "windows-1250", "CP1250" },
    { "cp1252", "CP1252" }, { "866", "CP866" }, { "28591", "ISO-8859-1" },
    { "ISO-8859-1", "ISO-8859-1" }, { "iso8859-15", "ISO-8859-15" },
    { "88591", "ISO-8859-1" }, { "latin1", "LATIN1" }, { "KOI8-R", "KOI8-R" },
    { "VISCII", "VISCII" },
    { "klingon", NULL }, { "1", NULL }, { "99999", NULL },
    { "UTF-8//IGNORE", NULL }, { "ISO-8859-99", NULL },
  };

  g_assert_null (dothi_encoding_canonical_name (NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].name);
      g_assert_cmpstr (dothi_encoding_canonical_name (cases[i].name), ==,
                       cases[i].canonical);
    }
  /* Interned: callers may keep the pointer. */
  g_assert_true (dothi_encoding_canonical_name ("1250")
                 == dothi_encoding_canonical_name ("cp1250"));
}

static void
test_cpg (void)
{
  static const struct {
    const char *contents;
    const char *encoding;
  } cases[] = {
    { "UTF-8", "UTF-8" }, { "UTF8", "UTF-8" }, { "65001", "UTF-8" },
    { "1258", "CP1258" }, { "ANSI 1252", "CP1252" }, { "88591", "ISO-8859-1" },
    { "\xEF\xBB\xBFUTF-8\r\n", "UTF-8" }, { "  ansi 1250 \n", "CP1250" },
    { "", NULL }, { "\n", NULL }, { "OEM", NULL },
    { "<!DOCTYPE html><html><head>", NULL },
    { "UTF-8\nANSI 1252\n", NULL }, { "\x01\x02\x03", NULL },
    { "A code page name that is far too long to be one", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *escaped = g_strescape (cases[i].contents, NULL);

      g_test_message ("%s", escaped);
      g_assert_cmpstr (dothi_encoding_from_cpg (cases[i].contents, -1), ==,
                       cases[i].encoding);
    }
  /* The length counts, not the NUL. */
  g_assert_cmpstr (dothi_encoding_from_cpg ("1258garbage", 4), ==, "CP1258");
}

static void
check_cpg_file (const char *relative, const char *expected)
{
  g_autofree char *path = dothi_test_shared_path (relative);
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;

  if (path == NULL)
    return;
  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dothi_encoding_from_cpg (contents, len), ==, expected);
}

static void
test_cpg_files (void)
{
  check_cpg_file ("shapefile-js/codepage.cpg", "CP1250");
  check_cpg_file ("shapefile-js/htmlcpg.cpg", NULL);
  check_cpg_file ("shapefile-js/LGA_2013_AUST.cpg", "UTF-8");
}

static void
test_ldid (void)
{
  g_assert_null (dothi_encoding_from_ldid (0));
  g_assert_null (dothi_encoding_from_ldid (0xA3));
  g_assert_cmpstr (dothi_encoding_from_ldid (0x57), ==, "CP1252");
  g_assert_cmpstr (dothi_encoding_from_ldid (0x03), ==, "CP1252");
  g_assert_cmpstr (dothi_encoding_from_ldid (0x01), ==, "CP437");
  g_assert_cmpstr (dothi_encoding_from_ldid (0x02), ==, "CP850");
  g_assert_cmpstr (dothi_encoding_from_ldid (0x26), ==, "CP866");
  g_assert_cmpstr (dothi_encoding_from_ldid (0x4D), ==, "CP936");
  g_assert_cmpstr (dothi_encoding_from_ldid (0x4E), ==, "CP949");
  g_assert_cmpstr (dothi_encoding_from_ldid (0xC8), ==, "CP1250");
  g_assert_cmpstr (dothi_encoding_from_ldid (0xC9), ==, "CP1251");

  /* Whatever comes back is a name decode accepts. */
  for (guint ldid = 0; ldid < 256; ldid++)
    {
      const char *name = dothi_encoding_from_ldid (ldid);
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;

      if (name == NULL)
        continue;
      g_assert_cmpstr (dothi_encoding_canonical_name (name), ==, name);
      text = dothi_encoding_decode (name, "abc", -1, DOTHI_DECODE_NONE, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (text, ==, "abc");
    }
}

/* Detection ---------------------------------------------------------- */

static const char * const layer_values[] = {
  "Nguyễn Văn Đức",
  "Trần Thị Hồng Nhung",
  "Lê Văn Tám",
  "Phạm Thị Lan",
  "Phường Tân Lập",
  "Buôn Ma Thuột",
  "Đường Lê Duẩn",
  "Đất ở tại đô thị",
  "Đất trồng lúa nước",
  "ODT",
  "LUC",
  "123",
};

static const char * const short_values[] = {
  "Nguyễn Văn Đức",
  "Trần Thị Hồng Nhung",
  "Phường Tân Lập",
  "Buôn Ma Thuột",
  "Hoàng Quốc Việt",
  "Đất ở",
};

static void
check_detect (const char *encoding)
{
  g_autoptr(GPtrArray) samples = g_ptr_array_new_with_free_func (g_free);
  double confidence = 0.0;

  for (gsize i = 0; i < G_N_ELEMENTS (layer_values); i++)
    g_ptr_array_add (samples, encode (encoding, layer_values[i]));
  g_assert_cmpstr (dothi_encoding_detect ((const char * const *) samples->pdata,
                                          samples->len, &confidence), ==, encoding);
  g_assert_cmpfloat (confidence, >, 0.8);

  for (gsize i = 0; i < G_N_ELEMENTS (short_values); i++)
    {
      g_autofree char *bytes = encode (encoding, short_values[i]);
      const char *one[] = { bytes };

      g_test_message ("%s: %s", encoding, short_values[i]);
      g_assert_cmpstr (dothi_encoding_detect (one, 1, &confidence), ==, encoding);
      g_assert_cmpfloat (confidence, >, 0.5);
    }
}

static void
test_detect_cp1258 (void)
{
  check_detect ("CP1258");
}

static void
test_detect_tcvn3 (void)
{
  check_detect ("TCVN3");
}

static void
test_detect_vni (void)
{
  check_detect ("VNI");
}

static void
test_detect_utf8 (void)
{
  const char *utf8[] = { "Nguyễn Văn Đức", "ODT", "Đắk Lắk" };
  const char *ascii[] = { "ODT", "LUC", "" };
  double confidence = 0.0;

  g_assert_cmpstr (dothi_encoding_detect (utf8, G_N_ELEMENTS (utf8), &confidence), ==, "UTF-8");
  g_assert_cmpfloat (confidence, ==, 1.0);
  g_assert_cmpstr (dothi_encoding_detect (ascii, G_N_ELEMENTS (ascii), NULL), ==, "UTF-8");
  g_assert_cmpstr (dothi_encoding_detect (NULL, 0, NULL), ==, "UTF-8");
}

/* NFC ---------------------------------------------------------------- */

static void
test_nfc (void)
{
  g_autofree char *nfc = dothi_encoding_nfc ("Vie\xCC\x82\xCC\xA3t Nam", -1);
  g_autofree char *part = dothi_encoding_nfc ("Vie\xCC\x82\xCC\xA3t Nam", 8);

  g_assert_cmpstr (nfc, ==, "Việt Nam");
  g_assert_cmpstr (part, ==, "Việt");
  g_assert_true (dothi_encoding_is_nfc ("Việt Nam"));
  g_assert_true (dothi_encoding_is_nfc ("ASCII"));
  g_assert_false (dothi_encoding_is_nfc ("Vie\xCC\x82\xCC\xA3t"));
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  g_test_add_func ("/encoding/letters-covered", test_letters_covered);
  g_test_add_func ("/encoding/tcvn3/table", test_tcvn3_table);
  g_test_add_func ("/encoding/tcvn3/decode", test_tcvn3);
  g_test_add_func ("/encoding/tcvn3/vn2-capitals", test_tcvn3_vn2_capitals);
  g_test_add_func ("/encoding/tcvn3/caps", test_tcvn3_caps);
  g_test_add_func ("/encoding/cp1258/decode", test_cp1258);
  g_test_add_func ("/encoding/vni/published", test_vni_published);
  g_test_add_func ("/encoding/vni/decode", test_vni);
  g_test_add_func ("/encoding/utf8", test_utf8);
  g_test_add_func ("/encoding/iconv", test_iconv);
  g_test_add_func ("/encoding/names/canonical", test_canonical_names);
  g_test_add_func ("/encoding/names/cpg", test_cpg);
  g_test_add_func ("/encoding/names/cpg-files", test_cpg_files);
  g_test_add_func ("/encoding/names/ldid", test_ldid);
  g_test_add_func ("/encoding/detect/utf8", test_detect_utf8);
  g_test_add_func ("/encoding/detect/cp1258", test_detect_cp1258);
  g_test_add_func ("/encoding/detect/tcvn3", test_detect_tcvn3);
  g_test_add_func ("/encoding/detect/vni", test_detect_vni);
  g_test_add_func ("/encoding/nfc", test_nfc);

  return g_test_run ();
}
