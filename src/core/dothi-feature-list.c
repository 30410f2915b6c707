/* dothi-feature-list.c: the attribute table's lazy model (see the header):
 * fids in display order, rows read in pages of 256 on a worker, sort in
 * Vietnamese order and filter computed in SQL on workers of their own. */
#define G_LOG_DOMAIN "dothi-feature-list"

#include "config.h"
#include "dothi-feature-list.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-search.h"
#include "dothi-spatialite-store.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* Rows read together; one statement with this many bound fids. */
#define PAGE_SIZE 256
/* Pages of values kept after their rows scrolled away (16 384 rows). */
#define MAX_PAGES 64
/* Page reads waiting; the newest is read first and the oldest dropped, so
 * a fast scroll through a million rows reads only where it stops. */
#define MAX_QUEUED 16
/* SQLite virtual machine steps between two looks at the cancellable. */
#define CANCEL_CHECK_STEPS 4096

/* ---- Vietnamese order ------------------------------------------------------
 *
 * A sort key per string, compared with memcmp, so a sort of a million rows
 * decomposes each string once (ORDER BY dothi_vi_key(x)) instead of in every
 * comparison. The order is that of Vietnamese dictionaries, syllable by
 * syllable (a word is a run of letters and digits):
 *   1. base letters a ă â b c d đ e ê f g h i j k l m n o ô ơ p q r s t u ư
 *      v w x y z (đ a letter of its own after d; digits before letters, a
 *      run of digits by its numeric value);
 *   2. then that syllable's tone: none, huyền (grave), hỏi (hook), ngã
 *      (tilde), sắc (acute), nặng (dot): “Anh” < “Ảnh” < “Ánh”, and “ba lô”
 *      < “bà ba”; the tone belongs to the syllable, so “Uỷ” and “Ủy” tie;
 *   3. then case over the whole string, lower case first;
 *   4. then the UTF-8 bytes, so only equal strings tie.
 * Key bytes: per word its primary weights (≥ 0x20), 0x03, its tone
 * (0x04–0x09); after the last word 0x01, a case byte per letter, the text. */

enum {
  CH_BOUNDARY,   /* space, punctuation: ends a word */
  CH_LETTER,     /* weight, tone, upper */
  CH_DIGIT,
  CH_TONE,       /* a combining tone mark: tone */
  CH_MODIFIER,   /* combining breve (1), circumflex (2), horn (3): weight */
  CH_IGNORE,     /* another mark */
  CH_OTHER,      /* a letter outside Vietnamese Latin: by code point */
};

typedef struct {
  guint8 kind;
  guint8 weight;
  guint8 tone;    /* 0 none, 1 grave, 2 hook, 3 tilde, 4 acute, 5 dot */
  guint8 upper;
} CharInfo;

#define WEIGHT_BASE 0x30
#define KEY_DIGITS 0x20
#define KEY_OTHER 0xF0
#define KEY_WORD_END 0x03
#define KEY_TONE_BASE 0x04
#define KEY_LEVEL 0x01

/* Position of each letter in the Vietnamese alphabet, with the foreign
 * letters f j w z where Latin puts them. */
static const char *const vi_alphabet[] = {
  "a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k",
  "l", "m", "n", "o", "ô", "ơ", "p", "q", "r", "s", "t", "u", "ư", "v", "w",
  "x", "y", "z",
};
#define VI_A 0
#define VI_D 5
#define VI_E 7
#define VI_O 18
#define VI_U 26

static guint8 ascii_weight[26];

#define TABLE_LOW_END 0x0370
#define TABLE_HIGH_START 0x1E00
#define TABLE_HIGH_END 0x1F00

static CharInfo table_low[TABLE_LOW_END];
static CharInfo table_high[TABLE_HIGH_END - TABLE_HIGH_START];

static int
tone_of_mark (gunichar mark)
{
  switch (mark)
    {
    case 0x0300: return 1;   /* huyền */
    case 0x0309: return 2;   /* hỏi */
    case 0x0303: return 3;   /* ngã */
    case 0x0301: return 4;   /* sắc */
    case 0x0323: return 5;   /* nặng */
    default: return 0;
    }
}

static int
modifier_of_mark (gunichar mark)
{
  switch (mark)
    {
    case 0x0306: return 1;   /* breve: ă */
    case 0x0302: return 2;   /* circumflex: â ê ô */
    case 0x031B: return 3;   /* horn: ơ ư */
    default: return 0;
    }
}

/* The letter @weight becomes with modifier @modifier, or @weight. */
static guint8
apply_modifier (guint8 weight, int modifier)
{
  int letter = weight - WEIGHT_BASE;

  if (letter == VI_A && modifier == 1)
    return WEIGHT_BASE + VI_A + 1;
  if (letter == VI_A && modifier == 2)
    return WEIGHT_BASE + VI_A + 2;
  if (letter == VI_E && modifier == 2)
    return WEIGHT_BASE + VI_E + 1;
  if (letter == VI_O && modifier == 2)
    return WEIGHT_BASE + VI_O + 1;
  if (letter == VI_O && modifier == 3)
    return WEIGHT_BASE + VI_O + 2;
  if (letter == VI_U && modifier == 3)
    return WEIGHT_BASE + VI_U + 1;
  return weight;
}

static CharInfo
classify_char (gunichar c)
{
  CharInfo info = { CH_BOUNDARY, 0, 0, 0 };
  gunichar lower, parts[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];
  gsize n;

  if (c < 0x80)
    {
      if (g_ascii_isdigit (c))
        info.kind = CH_DIGIT;
      else if (g_ascii_isalpha (c))
        {
          info.kind = CH_LETTER;
          info.weight = ascii_weight[g_ascii_tolower (c) - 'a'];
          info.upper = g_ascii_isupper (c);
        }
      return info;
    }
  if (g_unichar_ismark (c))
    {
      if (tone_of_mark (c) > 0)
        {
          info.kind = CH_TONE;
          info.tone = tone_of_mark (c);
        }
      else if (modifier_of_mark (c) > 0)
        {
          info.kind = CH_MODIFIER;
          info.weight = modifier_of_mark (c);
        }
      else
        info.kind = CH_IGNORE;
      return info;
    }

  lower = g_unichar_tolower (c);
  info.upper = lower != c;
  if (lower == 0x0111)   /* đ */
    {
      info.kind = CH_LETTER;
      info.weight = WEIGHT_BASE + VI_D + 1;
      return info;
    }
  n = g_unichar_fully_decompose (lower, FALSE, parts, G_N_ELEMENTS (parts));
  if (n > 0 && parts[0] < 0x80 && g_ascii_isalpha (parts[0]))
    {
      info.kind = CH_LETTER;
      info.weight = ascii_weight[g_ascii_tolower (parts[0]) - 'a'];
      for (gsize i = 1; i < n; i++)
        {
          if (tone_of_mark (parts[i]) > 0 && info.tone == 0)
            info.tone = tone_of_mark (parts[i]);
          else if (modifier_of_mark (parts[i]) > 0)
            info.weight = apply_modifier (info.weight, modifier_of_mark (parts[i]));
        }
      return info;
    }
  if (g_unichar_isalnum (c))
    info.kind = CH_OTHER;
  return info;
}

static void
ensure_key_tables (void)
{
  static gsize ready = 0;

  if (g_once_init_enter (&ready))
    {
      for (guint i = 0; i < G_N_ELEMENTS (vi_alphabet); i++)
        if (vi_alphabet[i][1] == '\0')
          ascii_weight[vi_alphabet[i][0] - 'a'] = WEIGHT_BASE + i;
      for (gunichar c = 0; c < TABLE_LOW_END; c++)
        table_low[c] = classify_char (c);
      for (gunichar c = TABLE_HIGH_START; c < TABLE_HIGH_END; c++)
        table_high[c - TABLE_HIGH_START] = classify_char (c);
      g_once_init_leave (&ready, 1);
    }
}

static CharInfo
lookup_char (gunichar c)
{
  if (c < TABLE_LOW_END)
    return table_low[c];
  if (c >= TABLE_HIGH_START && c < TABLE_HIGH_END)
    return table_high[c - TABLE_HIGH_START];
  return classify_char (c);
}

typedef struct {
  GString  *key;
  GString  *cases;
  gboolean  in_word;
  int       tone;
  gssize    last_letter;   /* offset in key of the last letter's weight */
} KeyBuilder;

static void
key_end_word (KeyBuilder *b)
{
  if (!b->in_word)
    return;
  g_string_append_c (b->key, KEY_WORD_END);
  g_string_append_c (b->key, KEY_TONE_BASE + b->tone);
  b->in_word = FALSE;
  b->tone = 0;
  b->last_letter = -1;
}

/* Appends the sort key of @len bytes of UTF-8 @text to @key. */
static void
append_vi_key (GString *key, const char *text, gsize len)
{
  const char *p = text, *end = text + len;
  KeyBuilder b = { key, g_string_sized_new (32), FALSE, 0, -1 };

  ensure_key_tables ();
  while (p < end)
    {
      gunichar c;
      CharInfo info;

      if ((guchar) *p < 0x80)
        c = (guchar) *p;
      else
        {
          c = g_utf8_get_char_validated (p, end - p);
          if (c == (gunichar) -1 || c == (gunichar) -2)
            {
              p++;   /* a stray byte: only the final level sees it */
              continue;
            }
        }
      info = lookup_char (c);
      switch (info.kind)
        {
        case CH_LETTER:
          b.in_word = TRUE;
          g_string_append_c (key, info.weight);
          b.last_letter = key->len - 1;
          if (b.tone == 0)
            b.tone = info.tone;
          g_string_append_c (b.cases, info.upper ? 0x03 : 0x02);
          break;
        case CH_DIGIT:
          {
            const char *run = p, *digits;
            gsize n;

            while (run < end && *run == '0')
              run++;
            digits = run;
            while (run < end && g_ascii_isdigit (*run))
              run++;
            n = run - digits;
            b.in_word = TRUE;
            g_string_append_c (key, KEY_DIGITS);
            g_string_append_c (key, 0x20 + MIN (n, 0xDF));
            for (const char *d = digits; d < run; d++)
              g_string_append_c (key, 0x10 + (*d - '0'));
            b.last_letter = -1;
            p = run;
            continue;
          }
        case CH_TONE:
          if (b.in_word && b.tone == 0)
            b.tone = info.tone;
          break;
        case CH_MODIFIER:
          if (b.last_letter >= 0)
            key->str[b.last_letter] = apply_modifier (key->str[b.last_letter], info.weight);
          break;
        case CH_IGNORE:
          break;
        case CH_OTHER:
          b.in_word = TRUE;
          g_string_append_c (key, KEY_OTHER);
          g_string_append_c (key, (c >> 16) & 0xff);
          g_string_append_c (key, (c >> 8) & 0xff);
          g_string_append_c (key, c & 0xff);
          b.last_letter = -1;
          break;
        default:
          key_end_word (&b);
          break;
        }
      p = c < 0x80 ? p + 1 : g_utf8_next_char (p);
    }
  key_end_word (&b);
  g_string_append_c (key, KEY_LEVEL);
  g_string_append_len (key, b.cases->str, b.cases->len);
  g_string_append_c (key, KEY_LEVEL);
  g_string_append_len (key, text, len);
  g_string_free (b.cases, TRUE);
}

/* COLLATE dothi_vi, registered on Dothi's own connections only: never in a
 * view, index or trigger that QGIS would meet (DESIGN.md §6). */
static int
collate_vi (void *data, int len_a, const void *a, int len_b, const void *b)
{
  GString *ka = g_string_sized_new (2 * len_a + 8);
  GString *kb = g_string_sized_new (2 * len_b + 8);
  int cmp;

  append_vi_key (ka, a, len_a);
  append_vi_key (kb, b, len_b);
  cmp = memcmp (ka->str, kb->str, MIN (ka->len, kb->len));
  if (cmp == 0)
    cmp = (ka->len > kb->len) - (ka->len < kb->len);
  g_string_free (ka, TRUE);
  g_string_free (kb, TRUE);
  return cmp;
}

/* dothi_vi_key(x): the key above as a BLOB; NULL stays NULL. */
static void
vi_key_sql (sqlite3_context *context, int argc, sqlite3_value **argv)
{
  const char *text;
  GString *key;
  gsize len;

  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    {
      sqlite3_result_null (context);
      return;
    }
  text = (const char *) sqlite3_value_text (argv[0]);
  len = sqlite3_value_bytes (argv[0]);
  key = g_string_sized_new (2 * len + 8);
  append_vi_key (key, text, len);
  len = key->len;
  sqlite3_result_blob64 (context, g_string_free (key, FALSE), len, g_free);
}

static void
fold_sql (sqlite3_context *context, int argc, sqlite3_value **argv)
{
  if (sqlite3_value_type (argv[0]) == SQLITE_NULL)
    {
      sqlite3_result_null (context);
      return;
    }
  sqlite3_result_text (context, dothi_text_fold ((const char *) sqlite3_value_text (argv[0])),
                       -1, g_free);
}

/* ---- connections -------------------------------------------------------- */

static int
progress_cb (void *data)
{
  return g_cancellable_is_cancelled (G_CANCELLABLE (data)) ? 1 : 0;
}

static gboolean
set_db_error (sqlite3 *db, const char *layer, GCancellable *cancellable, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: first a file or layer name, then the database's own message */
               _("Database error in “%s”: %s"), layer, sqlite3_errmsg (db));
  return FALSE;
}

/* A read-only connection of this thread's own, with the collation and
 * functions the table needs; no SpatiaLite (no geometry is read). */
static sqlite3 *
open_connection (const char *path, GCancellable *cancellable, GError **error)
{
  int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
  sqlite3 *db = NULL;

  if (g_str_has_prefix (path, "file:"))
    flags |= SQLITE_OPEN_URI;
  if (sqlite3_open_v2 (path, &db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name, then the database's message */
                   _("Cannot open “%s”: %s"), path, db ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close_v2 (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 5000);
  sqlite3_db_config (db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
  /* The table never writes, even by mistake. */
  if (sqlite3_exec (db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK
      || sqlite3_create_collation (db, "dothi_vi", SQLITE_UTF8, NULL, collate_vi) != SQLITE_OK
      || sqlite3_create_function (db, "dothi_vi_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                  NULL, vi_key_sql, NULL, NULL) != SQLITE_OK
      || sqlite3_create_function (db, "dothi_fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                  NULL, fold_sql, NULL, NULL) != SQLITE_OK)
    {
      set_db_error (db, path, NULL, error);
      sqlite3_close_v2 (db);
      return NULL;
    }
  if (cancellable != NULL)
    sqlite3_progress_handler (db, CANCEL_CHECK_STEPS, progress_cb, cancellable);
  return db;
}

/* ---- values ------------------------------------------------------------- */

/* The shortest text that reads back as the same double. */
static char *
format_real (double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    return g_strdup (isnan (value) ? "NaN" : value > 0 ? "∞" : "−∞");
  for (int digits = 15; digits <= 17; digits++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buf, sizeof buf, format, value);
      if (g_ascii_strtod (buf, NULL) == value)
        break;
    }
  return g_strdup (buf);
}

static char *
format_value (sqlite3_stmt *stmt, int column)
{
  switch (sqlite3_column_type (stmt, column))
    {
    case SQLITE_NULL:
      return NULL;
    case SQLITE_INTEGER:
      return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) sqlite3_column_int64 (stmt, column));
    case SQLITE_FLOAT:
      return format_real (sqlite3_column_double (stmt, column));
    case SQLITE_BLOB:
      {
        int n = sqlite3_column_bytes (stmt, column);

        /* Translators: the value of a BLOB field in the attribute table */
        return g_strdup_printf (ngettext ("%d byte of binary data", "%d bytes of binary data", n), n);
      }
    default:
      return g_strdup ((const char *) sqlite3_column_text (stmt, column));
    }
}

/* ---- DothiFeatureRow ---------------------------------------------------- */

struct _DothiFeatureRow
{
  GObject    parent_instance;
  gint64     fid;
  char     **values;     /* n_values entries, each may be NULL */
  guint      n_values;
  gboolean   loaded;
};

G_DEFINE_FINAL_TYPE (DothiFeatureRow, dothi_feature_row, G_TYPE_OBJECT)

enum {
  ROW_LOADED,
  N_ROW_SIGNALS
};

static guint row_signals[N_ROW_SIGNALS];

static void
free_values (char **values, guint n)
{
  if (values == NULL)
    return;
  for (guint i = 0; i < n; i++)
    g_free (values[i]);
  g_free (values);
}

static char **
copy_values (char * const *values, guint n)
{
  char **copy = g_new (char *, n);

  for (guint i = 0; i < n; i++)
    copy[i] = g_strdup (values[i]);
  return copy;
}

static void
dothi_feature_row_finalize (GObject *object)
{
  DothiFeatureRow *self = DOTHI_FEATURE_ROW (object);

  free_values (self->values, self->n_values);
  G_OBJECT_CLASS (dothi_feature_row_parent_class)->finalize (object);
}

static void
dothi_feature_row_class_init (DothiFeatureRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dothi_feature_row_finalize;

  row_signals[ROW_LOADED] = g_signal_new ("loaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
dothi_feature_row_init (DothiFeatureRow *self)
{
}

/* Takes a copy of @values and says so. */
static void
feature_row_set_values (DothiFeatureRow *self, char * const *values, guint n)
{
  free_values (self->values, self->n_values);
  self->values = copy_values (values, n);
  self->n_values = n;
  self->loaded = TRUE;
  g_signal_emit (self, row_signals[ROW_LOADED], 0);
}

gint64
dothi_feature_row_get_fid (DothiFeatureRow *self)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_ROW (self), -1);
  return self->fid;
}

const char *
dothi_feature_row_get_value (DothiFeatureRow *self, guint field)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_ROW (self), NULL);
  if (!self->loaded)
    return "";
  if (field >= self->n_values)
    return NULL;
  return self->values[field];
}

gboolean
dothi_feature_row_get_loaded (DothiFeatureRow *self)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_ROW (self), FALSE);
  return self->loaded;
}

/* ---- the page reader: one connection shared by the page worker and
 * load_sync, one at a time (the lock) ------------------------------------- */

typedef struct {
  char          *path;
  char          *layer;
  guint          n_fields;
  GMutex         lock;
  sqlite3       *db;
  sqlite3_stmt  *by_fids;     /* WHERE fid IN (?1 … ?256) */
  sqlite3_stmt  *by_range;    /* WHERE fid BETWEEN ?1 AND ?2 */
} Reader;

static void
reader_clear (Reader *reader)
{
  g_clear_pointer (&reader->by_fids, sqlite3_finalize);
  g_clear_pointer (&reader->by_range, sqlite3_finalize);
  if (reader->db != NULL)
    sqlite3_close_v2 (reader->db);
  g_mutex_clear (&reader->lock);
  g_free (reader->path);
  g_free (reader->layer);
}

static void
reader_unref (Reader *reader)
{
  g_atomic_rc_box_release_full (reader, (GDestroyNotify) reader_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reader, reader_unref)

/* One row's values, owned by the page that read it. */
typedef struct _Page Page;

typedef struct {
  gint64  fid;
  char  **values;
  Page   *page;
} RowValues;

struct _Page {
  GPtrArray *rows;   /* RowValues* */
  GList     *link;   /* in DothiFeatureList.pages */
};

/* "SELECT fid, "a", "b" … FROM "t"" for the layer's fields. */
static GString *
select_columns (const DothiLayerInfo *info)
{
  GString *sql = g_string_new ("SELECT fid");

  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *field = g_ptr_array_index (info->fields, i);
      g_autoptr(DothiSqlStr) quoted = sqlite3_mprintf ("\"%w\"", field->name);

      g_string_append_printf (sql, ", %s", quoted);
    }
  return sql;
}

static gboolean
reader_prepare (Reader *reader, const DothiLayerInfo *info, GError **error)
{
  g_autoptr(GString) sql = select_columns (info);
  g_autoptr(GString) in_sql = NULL;
  g_autoptr(GString) range_sql = NULL;
  g_autoptr(DothiSqlStr) table = sqlite3_mprintf ("\"%w\"", info->name);

  g_string_append_printf (sql, " FROM %s WHERE fid ", table);
  range_sql = g_string_new (sql->str);
  g_string_append (range_sql, "BETWEEN ?1 AND ?2 ORDER BY fid");
  in_sql = g_string_new (sql->str);
  g_string_append (in_sql, "IN (");
  for (guint i = 1; i <= PAGE_SIZE; i++)
    g_string_append_printf (in_sql, i > 1 ? ", ?%u" : "?%u", i);
  g_string_append_c (in_sql, ')');

  if (sqlite3_prepare_v3 (reader->db, in_sql->str, -1, SQLITE_PREPARE_PERSISTENT,
                          &reader->by_fids, NULL) != SQLITE_OK
      || sqlite3_prepare_v3 (reader->db, range_sql->str, -1, SQLITE_PREPARE_PERSISTENT,
                             &reader->by_range, NULL) != SQLITE_OK)
    return set_db_error (reader->db, reader->layer, NULL, error);
  return TRUE;
}

static gboolean
read_statement (Reader *reader, sqlite3_stmt *stmt, GPtrArray *rows, GError **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      RowValues *row = g_new0 (RowValues, 1);

      row->fid = sqlite3_column_int64 (stmt, 0);
      row->values = g_new0 (char *, MAX (reader->n_fields, 1));
      for (guint i = 0; i < reader->n_fields; i++)
        row->values[i] = format_value (stmt, i + 1);
      g_ptr_array_add (rows, row);
    }
  if (rc != SQLITE_DONE)
    return set_db_error (reader->db, reader->layer, NULL, error);
  return TRUE;
}

/* Reads the rows of @fids (any order; fids gone are left out). Any thread. */
static GPtrArray *
reader_read (Reader *reader, const gint64 *fids, guint n, GError **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();
  gboolean ok = TRUE;

  g_mutex_lock (&reader->lock);
  for (guint start = 0; ok && start < n; start += PAGE_SIZE)
    {
      guint count = MIN (PAGE_SIZE, n - start);
      const gint64 *chunk = fids + start;
      gboolean contiguous = TRUE;
      sqlite3_stmt *stmt;

      for (guint i = 1; i < count && contiguous; i++)
        contiguous = chunk[i] == chunk[i - 1] + 1;
      if (contiguous)
        {
          stmt = reader->by_range;
          sqlite3_bind_int64 (stmt, 1, chunk[0]);
          sqlite3_bind_int64 (stmt, 2, chunk[count - 1]);
        }
      else
        {
          stmt = reader->by_fids;
          for (guint i = 0; i < PAGE_SIZE; i++)
            if (i < count)
              sqlite3_bind_int64 (stmt, i + 1, chunk[i]);
            else
              sqlite3_bind_null (stmt, i + 1);
        }
      ok = read_statement (reader, stmt, rows, error);
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
    }
  g_mutex_unlock (&reader->lock);

  if (!ok)
    {
      for (guint i = 0; i < rows->len; i++)
        {
          RowValues *row = g_ptr_array_index (rows, i);
          free_values (row->values, reader->n_fields);
          g_free (row);
        }
      return NULL;
    }
  return g_steal_pointer (&rows);
}

/* ---- DothiFeatureList --------------------------------------------------- */

typedef struct {
  gint64 fid;
  gint64 position;
} FidPosition;

struct _DothiFeatureList
{
  GObject          parent_instance;

  DothiLayerInfo  *info;
  Reader          *reader;
  guint            n_fields;

  GArray          *fids;          /* gint64, display order */
  gboolean         fids_ascending;
  GArray          *index;         /* FidPosition by fid; NULL: not built */

  GHashTable      *items;         /* &row->fid → DothiFeatureRow* (weak) */
  GHashTable      *cache;         /* &values->fid → RowValues* */
  GQueue           pages;         /* Page*, most recently used first */

  GQueue           queue;         /* GArray* of fids to read, newest first */
  GHashTable      *pending;       /* fid (gint64*) queued or being read */
  gboolean         reading;

  char            *sort_field;
  gboolean         descending;
  char            *filter_field;
  char            *filter_text;   /* folded; NULL: no filter */
  DothiFidSet     *only_fids;     /* NULL: every fid */
  guint            order_serial;  /* the newest sort/filter request */
  GCancellable    *order_cancellable;
  GCancellable    *cancellable;   /* every worker; cancelled in dispose */
};

static void dothi_feature_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DothiFeatureList, dothi_feature_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      dothi_feature_list_model_init))

enum {
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  LIST_ERROR,
  N_LIST_SIGNALS
};

static guint list_signals[N_LIST_SIGNALS];

static void
page_free (DothiFeatureList *self, Page *page)
{
  for (guint i = 0; i < page->rows->len; i++)
    {
      RowValues *row = g_ptr_array_index (page->rows, i);

      if (self != NULL && g_hash_table_lookup (self->cache, &row->fid) == row)
        g_hash_table_remove (self->cache, &row->fid);
      free_values (row->values, self ? self->n_fields : 0);
      g_free (row);
    }
  g_ptr_array_unref (page->rows);
  g_free (page);
}

static void
free_rows (GPtrArray *rows, guint n_fields)
{
  for (guint i = 0; i < rows->len; i++)
    {
      RowValues *row = g_ptr_array_index (rows, i);
      free_values (row->values, n_fields);
      g_free (row);
    }
  g_ptr_array_unref (rows);
}

/* Keeps @rows (taken) as the newest page and hands their values to the
 * rows shown. */
static void
add_page (DothiFeatureList *self, GPtrArray *rows)
{
  Page *page = g_new0 (Page, 1);

  page->rows = rows;
  g_queue_push_head (&self->pages, page);
  page->link = self->pages.head;
  for (guint i = 0; i < rows->len; i++)
    {
      RowValues *row = g_ptr_array_index (rows, i);
      DothiFeatureRow *item;

      row->page = page;
      /* replace, not insert: the key must be this row's own fid. */
      g_hash_table_replace (self->cache, &row->fid, row);
      g_hash_table_remove (self->pending, &row->fid);
      item = g_hash_table_lookup (self->items, &row->fid);
      if (item != NULL)
        feature_row_set_values (item, row->values, self->n_fields);
    }
  while (self->pages.length > MAX_PAGES)
    page_free (self, g_queue_pop_tail (&self->pages));
}

static void
touch_page (DothiFeatureList *self, Page *page)
{
  if (page->link != self->pages.head)
    {
      g_queue_unlink (&self->pages, page->link);
      g_queue_push_head_link (&self->pages, page->link);
    }
}

/* ---- page reads on the worker -------------------------------------------- */

typedef struct {
  Reader *reader;
  GArray *fids;
} ReadJob;

static void
read_job_free (ReadJob *job)
{
  reader_unref (job->reader);
  g_array_unref (job->fids);
  g_free (job);
}

static void
read_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ReadJob *job = data;
  GError *error = NULL;
  GPtrArray *rows;

  if (g_task_return_error_if_cancelled (task))
    return;
  rows = reader_read (job->reader, (const gint64 *) job->fids->data, job->fids->len, &error);
  if (rows == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, rows, NULL);
}

static void pump_reads (DothiFeatureList *self);

static void
forget_pending (DothiFeatureList *self, GArray *fids)
{
  for (guint i = 0; i < fids->len; i++)
    g_hash_table_remove (self->pending, &g_array_index (fids, gint64, i));
}

static void
read_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(DothiFeatureList) self = g_weak_ref_get (data);
  ReadJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  GPtrArray *rows;

  g_weak_ref_clear (data);
  g_free (data);
  rows = g_task_propagate_pointer (G_TASK (result), &error);
  if (self == NULL)
    {
      if (rows != NULL)
        free_rows (rows, job->reader->n_fields);
      return;
    }
  self->reading = FALSE;
  forget_pending (self, job->fids);
  if (rows == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_signal_emit (self, list_signals[LIST_ERROR], 0, error);
      return;
    }
  add_page (self, rows);
  pump_reads (self);
}

static void
pump_reads (DothiFeatureList *self)
{
  g_autoptr(GTask) task = NULL;
  GWeakRef *weak;
  ReadJob *job;

  if (self->reading || g_queue_is_empty (&self->queue))
    return;
  job = g_new0 (ReadJob, 1);
  job->reader = g_atomic_rc_box_acquire (self->reader);
  job->fids = g_queue_pop_head (&self->queue);
  weak = g_new0 (GWeakRef, 1);
  g_weak_ref_init (weak, self);
  self->reading = TRUE;
  task = g_task_new (NULL, self->cancellable, read_done_cb, weak);
  g_task_set_source_tag (task, pump_reads);
  g_task_set_task_data (task, job, (GDestroyNotify) read_job_free);
  g_task_run_in_thread (task, read_thread);
}

/* Queues the page of @position for reading, newest first. */
static void
request_page (DothiFeatureList *self, guint position)
{
  guint start = position / PAGE_SIZE * PAGE_SIZE;
  guint end = MIN (start + PAGE_SIZE, self->fids->len);
  GArray *fids;

  /* Asked for already: O(1), as GTK may ask for many items in a row. */
  if (g_hash_table_contains (self->pending, &g_array_index (self->fids, gint64, position)))
    return;
  fids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), end - start);

  for (guint i = start; i < end; i++)
    {
      gint64 *fid = &g_array_index (self->fids, gint64, i);

      if (g_hash_table_contains (self->pending, fid) || g_hash_table_contains (self->cache, fid))
        continue;
      g_array_append_val (fids, *fid);
    }
  if (fids->len == 0)
    {
      g_array_unref (fids);
      return;
    }
  /* Keys point into the request, which lives until it is read or dropped. */
  for (guint i = 0; i < fids->len; i++)
    g_hash_table_add (self->pending, &g_array_index (fids, gint64, i));
  g_queue_push_head (&self->queue, fids);
  while (self->queue.length > MAX_QUEUED)
    {
      GArray *dropped = g_queue_pop_tail (&self->queue);

      forget_pending (self, dropped);
      g_array_unref (dropped);
    }
  pump_reads (self);
}

static void
clear_queue (DothiFeatureList *self)
{
  GArray *fids;

  while ((fids = g_queue_pop_head (&self->queue)) != NULL)
    {
      forget_pending (self, fids);
      g_array_unref (fids);
    }
}

/* ---- GListModel --------------------------------------------------------- */

static GType
list_get_item_type (GListModel *model)
{
  return DOTHI_TYPE_FEATURE_ROW;
}

static guint
list_get_n_items (GListModel *model)
{
  return DOTHI_FEATURE_LIST (model)->fids->len;
}

static void
item_disposed_cb (gpointer data, GObject *where_the_object_was)
{
  DothiFeatureList *self = data;

  /* Weak references are notified during dispose: the fid is still there. */
  g_hash_table_remove (self->items, &((DothiFeatureRow *) where_the_object_was)->fid);
}

static gpointer
list_get_item (GListModel *model, guint position)
{
  DothiFeatureList *self = DOTHI_FEATURE_LIST (model);
  DothiFeatureRow *item;
  RowValues *cached;
  gint64 fid;

  if (position >= self->fids->len)
    return NULL;
  fid = g_array_index (self->fids, gint64, position);
  item = g_hash_table_lookup (self->items, &fid);
  if (item != NULL)
    {
      if (!item->loaded)
        request_page (self, position);
      return g_object_ref (item);
    }

  item = g_object_new (DOTHI_TYPE_FEATURE_ROW, NULL);
  item->fid = fid;
  g_hash_table_insert (self->items, &item->fid, item);
  g_object_weak_ref (G_OBJECT (item), item_disposed_cb, self);

  cached = g_hash_table_lookup (self->cache, &fid);
  if (cached != NULL)
    {
      item->values = copy_values (cached->values, self->n_fields);
      item->n_values = self->n_fields;
      item->loaded = TRUE;
      touch_page (self, cached->page);
    }
  else
    request_page (self, position);
  return item;
}

static void
dothi_feature_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = list_get_item_type;
  iface->get_n_items = list_get_n_items;
  iface->get_item = list_get_item;
}

/* ---- sort and filter on a worker ----------------------------------------- */

typedef struct {
  char        *path;
  char        *layer;
  char        *sql;       /* SELECT fid … ORDER BY …, names checked and quoted */
  char        *pattern;   /* folded filter text (?1), or NULL */
  DothiFidSet *only;      /* dothi_in_fids(), its range ?2 ?3; or NULL */
  guint        serial;
  /* results */
  GArray  *fids;
  GArray  *index;
  gboolean ascending;
} OrderJob;

static void
order_job_free (OrderJob *job)
{
  g_free (job->path);
  g_free (job->layer);
  g_free (job->sql);
  g_free (job->pattern);
  g_clear_pointer (&job->only, dothi_fid_set_unref);
  g_clear_pointer (&job->fids, g_array_unref);
  g_clear_pointer (&job->index, g_array_unref);
  g_free (job);
}

static int
compare_fid_position (gconstpointer a, gconstpointer b)
{
  const FidPosition *pa = a, *pb = b;

  return (pa->fid > pb->fid) - (pa->fid < pb->fid);
}

static GArray *
build_index (GArray *fids)
{
  GArray *index = g_array_sized_new (FALSE, FALSE, sizeof (FidPosition), fids->len);

  g_array_set_size (index, fids->len);
  for (guint i = 0; i < fids->len; i++)
    {
      FidPosition *entry = &g_array_index (index, FidPosition, i);

      entry->fid = g_array_index (fids, gint64, i);
      entry->position = i;
    }
  qsort (index->data, index->len, sizeof (FidPosition), compare_fid_position);
  return index;
}

static gboolean
is_ascending (GArray *fids)
{
  for (guint i = 1; i < fids->len; i++)
    if (g_array_index (fids, gint64, i) <= g_array_index (fids, gint64, i - 1))
      return FALSE;
  return TRUE;
}

/* dothi_in_fids(fid): whether the job's set holds @fid. Registered on
 * the order worker's own connection only. */
static void
in_fids_sql (sqlite3_context *context, int argc, sqlite3_value **argv)
{
  const DothiFidSet *set = sqlite3_user_data (context);

  sqlite3_result_int (context, dothi_fid_set_contains (set, sqlite3_value_int64 (argv[0])));
}

/* Reads the fids of @sql (one column) into a new array. Any thread.
 * @only (may be NULL) binds its range to ?2 and ?3. */
static GArray *
read_fids (sqlite3 *db, const char *sql, const char *pattern, const DothiFidSet *only,
           const char *layer, GCancellable *cancellable, GError **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  int rc;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (db, layer, cancellable, error);
      return NULL;
    }
  if (pattern != NULL)
    sqlite3_bind_text (stmt, 1, pattern, -1, SQLITE_TRANSIENT);
  if (only != NULL)
    {
      gint64 min = 1, max = 0;   /* the empty set: an empty range */

      dothi_fid_set_get_range (only, &min, &max);
      sqlite3_bind_int64 (stmt, 2, min);
      sqlite3_bind_int64 (stmt, 3, max);
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 fid = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (fids, fid);
    }
  if (rc != SQLITE_DONE)
    {
      set_db_error (db, layer, cancellable, error);
      return NULL;
    }
  return g_steal_pointer (&fids);
}

static void
order_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  OrderJob *job = data;
  GError *error = NULL;
  sqlite3 *db = open_connection (job->path, cancellable, &error);

  if (db == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* The job holds the set for as long as the connection lives. */
  if (job->only != NULL
      && sqlite3_create_function (db, "dothi_in_fids", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                  job->only, in_fids_sql, NULL, NULL) != SQLITE_OK)
    {
      set_db_error (db, job->layer, cancellable, &error);
      sqlite3_close_v2 (db);
      g_task_return_error (task, error);
      return;
    }
  job->fids = read_fids (db, job->sql, job->pattern, job->only, job->layer, cancellable, &error);
  sqlite3_close_v2 (db);
  if (job->fids == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job->ascending = is_ascending (job->fids);
  if (!job->ascending)
    job->index = build_index (job->fids);
  g_task_return_boolean (task, TRUE);
}

static void
set_order (DothiFeatureList *self, GArray *fids, GArray *index, gboolean ascending)
{
  guint old_n = self->fids->len;

  /* Page requests were positions in the old order. */
  clear_queue (self);
  /* Two signals, all rows out then all in, not one (0, old_n, new_n):
   * GTK 4.8's list item manager and GtkMultiSelection look for a removed
   * row they track (the focus, the scroll anchor, the selection) among
   * every added row, by get_item: a million items made for nothing
   * (gtk_list_item_manager_model_items_changed_cb). With nothing added
   * in the first signal and nothing removed in the second they don't.
   * The model holds no rows between the two. */
  g_array_set_size (self->fids, 0);
  g_clear_pointer (&self->index, g_array_unref);
  self->fids_ascending = TRUE;
  if (old_n > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, old_n, 0);

  g_array_unref (self->fids);
  self->fids = fids;
  self->index = index;
  self->fids_ascending = ascending;
  if (fids->len > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, 0, fids->len);
}

static void
order_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(DothiFeatureList) self = g_weak_ref_get (data);
  OrderJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  g_weak_ref_clear (data);
  g_free (data);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (self != NULL && job->serial == self->order_serial)
        {
          g_clear_object (&self->order_cancellable);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_signal_emit (self, list_signals[LIST_ERROR], 0, error);
        }
      return;
    }
  if (self == NULL || job->serial != self->order_serial)
    return;

  g_clear_object (&self->order_cancellable);
  set_order (self, g_steal_pointer (&job->fids), g_steal_pointer (&job->index), job->ascending);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* "WHERE …" for the fid set and the filter, or "" (the folded text is
 * ?1, the set's range ?2 and ?3: the range lets SQLite walk only that
 * part of the primary key, dothi_in_fids() keeps the members, and a sort
 * then orders only them). */
static void
append_filter (DothiFeatureList *self, GString *sql)
{
  gboolean first = TRUE;
  int only = -1;

  if (self->only_fids != NULL)
    g_string_append_printf (sql, " WHERE fid BETWEEN ?2 AND ?3 AND dothi_in_fids(fid)%s",
                            self->filter_text != NULL ? " AND (" : "");
  if (self->filter_text == NULL)
    return;
  if (self->filter_field != NULL)
    only = dothi_layer_info_find_field (self->info, self->filter_field);
  if (self->only_fids == NULL)
    g_string_append (sql, " WHERE ");
  for (guint i = 0; i < self->info->fields->len; i++)
    {
      const DothiField *field = g_ptr_array_index (self->info->fields, i);
      g_autoptr(DothiSqlStr) quoted = NULL;

      if ((only >= 0 && (guint) only != i) || (only < 0 && field->type == DOTHI_FIELD_BLOB))
        continue;
      quoted = sqlite3_mprintf ("\"%w\"", field->name);
      g_string_append_printf (sql, "%sinstr(dothi_fold(%s), ?1) > 0", first ? "" : " OR ", quoted);
      first = FALSE;
    }
  if (first)
    g_string_append (sql, "0");
  if (self->only_fids != NULL)
    g_string_append_c (sql, ')');
}

static void
start_order (DothiFeatureList *self)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GString) sql = g_string_new ("SELECT fid FROM ");
  g_autoptr(DothiSqlStr) table = sqlite3_mprintf ("\"%w\"", self->info->name);
  gboolean was_busy = self->order_cancellable != NULL;
  int field = self->sort_field ? dothi_layer_info_find_field (self->info, self->sort_field) : -1;
  const char *direction = self->descending ? " DESC" : "";
  OrderJob *job;
  GWeakRef *weak;

  g_string_append (sql, table);
  append_filter (self, sql);
  if (field < 0)
    g_string_append_printf (sql, " ORDER BY fid%s", direction);
  else
    {
      const DothiField *f = g_ptr_array_index (self->info->fields, field);
      g_autoptr(DothiSqlStr) quoted = sqlite3_mprintf ("\"%w\"", f->name);

      if (f->type == DOTHI_FIELD_TEXT)
        g_string_append_printf (sql, " ORDER BY dothi_vi_key(%s)%s, fid", quoted, direction);
      else
        g_string_append_printf (sql, " ORDER BY %s%s, fid", quoted, direction);
    }

  if (self->order_cancellable != NULL)
    g_cancellable_cancel (self->order_cancellable);
  g_clear_object (&self->order_cancellable);
  self->order_cancellable = g_cancellable_new ();

  job = g_new0 (OrderJob, 1);
  job->path = g_strdup (self->reader->path);
  job->layer = g_strdup (self->info->name);
  job->sql = g_strdup (sql->str);
  job->pattern = g_strdup (self->filter_text);
  job->only = self->only_fids ? dothi_fid_set_ref (self->only_fids) : NULL;
  job->serial = ++self->order_serial;
  weak = g_new0 (GWeakRef, 1);
  g_weak_ref_init (weak, self);
  task = g_task_new (NULL, self->order_cancellable, order_done_cb, weak);
  g_task_set_source_tag (task, start_order);
  g_task_set_task_data (task, job, (GDestroyNotify) order_job_free);
  g_task_run_in_thread (task, order_thread);
  if (!was_busy)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* ---- refresh ------------------------------------------------------------ */

static void
remove_position (DothiFeatureList *self, guint position)
{
  g_array_remove_index (self->fids, position);
  /* Positions after it moved: the index is rebuilt when next needed. */
  g_clear_pointer (&self->index, g_array_unref);
  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
}

static void
refresh_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(DothiFeatureList) self = g_weak_ref_get (data);
  ReadJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) found = NULL;
  GPtrArray *rows;

  g_weak_ref_clear (data);
  g_free (data);
  rows = g_task_propagate_pointer (G_TASK (result), &error);
  if (self == NULL)
    {
      if (rows != NULL)
        free_rows (rows, job->reader->n_fields);
      return;
    }
  if (rows == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_signal_emit (self, list_signals[LIST_ERROR], 0, error);
      return;
    }

  found = g_hash_table_new (g_int64_hash, g_int64_equal);
  for (guint i = 0; i < rows->len; i++)
    g_hash_table_add (found, &((RowValues *) g_ptr_array_index (rows, i))->fid);
  for (guint i = 0; i < job->fids->len; i++)
    {
      gint64 fid = g_array_index (job->fids, gint64, i);
      gint64 position;

      if (g_hash_table_contains (found, &fid))
        continue;
      position = dothi_feature_list_find_fid (self, fid);
      if (position >= 0)
        remove_position (self, position);
    }
  add_page (self, rows);
}

/* ---- GObject ------------------------------------------------------------ */

static void
drop_item_weak_refs (DothiFeatureList *self)
{
  GHashTableIter iter;
  gpointer item;

  g_hash_table_iter_init (&iter, self->items);
  while (g_hash_table_iter_next (&iter, NULL, &item))
    g_object_weak_unref (item, item_disposed_cb, self);
  g_hash_table_remove_all (self->items);
}

static void
dothi_feature_list_dispose (GObject *object)
{
  DothiFeatureList *self = DOTHI_FEATURE_LIST (object);

  g_cancellable_cancel (self->cancellable);
  if (self->order_cancellable != NULL)
    g_cancellable_cancel (self->order_cancellable);
  g_clear_object (&self->order_cancellable);
  clear_queue (self);
  drop_item_weak_refs (self);
  G_OBJECT_CLASS (dothi_feature_list_parent_class)->dispose (object);
}

static void
dothi_feature_list_finalize (GObject *object)
{
  DothiFeatureList *self = DOTHI_FEATURE_LIST (object);
  Page *page;

  while ((page = g_queue_pop_head (&self->pages)) != NULL)
    page_free (self, page);
  g_hash_table_unref (self->cache);
  g_hash_table_unref (self->items);
  g_hash_table_unref (self->pending);
  g_clear_pointer (&self->fids, g_array_unref);
  g_clear_pointer (&self->index, g_array_unref);
  g_clear_pointer (&self->info, dothi_layer_info_free);
  g_clear_pointer (&self->reader, reader_unref);
  g_clear_object (&self->cancellable);
  g_free (self->sort_field);
  g_free (self->filter_field);
  g_free (self->filter_text);
  g_clear_pointer (&self->only_fids, dothi_fid_set_unref);
  G_OBJECT_CLASS (dothi_feature_list_parent_class)->finalize (object);
}

static void
dothi_feature_list_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DothiFeatureList *self = DOTHI_FEATURE_LIST (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, dothi_feature_list_get_busy (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dothi_feature_list_class_init (DothiFeatureListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dothi_feature_list_dispose;
  object_class->finalize = dothi_feature_list_finalize;
  object_class->get_property = dothi_feature_list_get_property;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  list_signals[LIST_ERROR] = g_signal_new ("error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
dothi_feature_list_init (DothiFeatureList *self)
{
  self->fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->fids_ascending = TRUE;
  self->items = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->cache = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->pending = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->pages);
  g_queue_init (&self->queue);
}

/* ---- public API --------------------------------------------------------- */

DothiFeatureList *
dothi_feature_list_new (const char *path, const char *layer, GError **error)
{
  g_autoptr(DothiFeatureList) self = NULL;
  g_autoptr(DothiSpatialiteStore) store = NULL;
  g_autoptr(DothiSqlStr) table = NULL;
  g_autofree char *sql = NULL;
  Reader *reader;
  GArray *fids;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (layer != NULL, NULL);

  if (!g_str_has_prefix (path, "file:") && !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name */
                   _("Project file “%s” does not exist"), path);
      return NULL;
    }

  self = g_object_new (DOTHI_TYPE_FEATURE_LIST, NULL);
  /* The registry and the table itself say which fields there are. */
  store = dothi_spatialite_store_open (path, DOTHI_STORE_OPEN_READ_ONLY, error);
  if (store == NULL)
    return NULL;
  self->info = dothi_store_get_layer (DOTHI_STORE (store), layer, error);
  dothi_spatialite_store_close (store);
  if (self->info == NULL)
    return NULL;
  self->n_fields = self->info->fields->len;

  reader = g_atomic_rc_box_new0 (Reader);
  self->reader = reader;
  g_mutex_init (&reader->lock);
  reader->path = g_strdup (path);
  reader->layer = g_strdup (self->info->name);
  reader->n_fields = self->n_fields;
  reader->db = open_connection (path, NULL, error);
  if (reader->db == NULL || !reader_prepare (reader, self->info, error))
    return NULL;

  /* A covering scan of the primary key. */
  table = sqlite3_mprintf ("\"%w\"", self->info->name);
  sql = g_strdup_printf ("SELECT fid FROM %s ORDER BY fid", table);
  fids = read_fids (reader->db, sql, NULL, NULL, self->info->name, NULL, error);
  if (fids == NULL)
    return NULL;
  g_array_unref (self->fids);
  self->fids = fids;
  return g_steal_pointer (&self);
}

const DothiLayerInfo *
dothi_feature_list_get_info (DothiFeatureList *self)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_LIST (self), NULL);
  return self->info;
}

gint64
dothi_feature_list_get_fid (DothiFeatureList *self, guint position)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_LIST (self), -1);
  if (position >= self->fids->len)
    return -1;
  return g_array_index (self->fids, gint64, position);
}

gint64
dothi_feature_list_find_fid (DothiFeatureList *self, gint64 fid)
{
  guint lo = 0, hi;

  g_return_val_if_fail (DOTHI_IS_FEATURE_LIST (self), -1);

  if (self->fids_ascending)
    {
      hi = self->fids->len;
      while (lo < hi)
        {
          guint mid = lo + (hi - lo) / 2;
          gint64 at = g_array_index (self->fids, gint64, mid);

          if (at == fid)
            return mid;
          if (at < fid)
            lo = mid + 1;
          else
            hi = mid;
        }
      return -1;
    }

  if (self->index == NULL)
    self->index = build_index (self->fids);
  hi = self->index->len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      const FidPosition *at = &g_array_index (self->index, FidPosition, mid);

      if (at->fid == fid)
        return at->position;
      if (at->fid < fid)
        lo = mid + 1;
      else
        hi = mid;
    }
  return -1;
}

void
dothi_feature_list_set_sort (DothiFeatureList *self, const char *field, gboolean descending)
{
  g_return_if_fail (DOTHI_IS_FEATURE_LIST (self));
  g_return_if_fail (field == NULL || dothi_layer_info_find_field (self->info, field) >= 0);

  g_free (self->sort_field);
  self->sort_field = g_strdup (field);
  self->descending = !!descending;
  start_order (self);
}

void
dothi_feature_list_set_filter (DothiFeatureList *self, const char *field, const char *text)
{
  g_autofree char *folded = NULL;

  g_return_if_fail (DOTHI_IS_FEATURE_LIST (self));
  g_return_if_fail (field == NULL || dothi_layer_info_find_field (self->info, field) >= 0);

  if (text != NULL)
    folded = dothi_text_fold (text);
  if (folded != NULL && folded[0] == '\0')
    g_clear_pointer (&folded, g_free);
  if (g_strcmp0 (folded, self->filter_text) == 0 && g_strcmp0 (field, self->filter_field) == 0)
    return;
  g_free (self->filter_field);
  self->filter_field = g_strdup (field);
  g_free (self->filter_text);
  self->filter_text = g_steal_pointer (&folded);
  start_order (self);
}

void
dothi_feature_list_set_fids (DothiFeatureList *self, DothiFidSet *fids)
{
  g_return_if_fail (DOTHI_IS_FEATURE_LIST (self));

  if (self->only_fids == fids
      || (self->only_fids != NULL && fids != NULL && dothi_fid_set_equal (self->only_fids, fids)))
    return;
  g_clear_pointer (&self->only_fids, dothi_fid_set_unref);
  if (fids != NULL)
    self->only_fids = dothi_fid_set_ref (fids);
  start_order (self);
}

DothiFidSet *
dothi_feature_list_get_fids (DothiFeatureList *self)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_LIST (self), NULL);
  return self->only_fids;
}

gboolean
dothi_feature_list_get_busy (DothiFeatureList *self)
{
  g_return_val_if_fail (DOTHI_IS_FEATURE_LIST (self), FALSE);
  return self->order_cancellable != NULL;
}

void
dothi_feature_list_refresh (DothiFeatureList *self, const gint64 *fids, guint n_fids)
{
  g_autoptr(GTask) task = NULL;
  GWeakRef *weak;
  ReadJob *job;

  g_return_if_fail (DOTHI_IS_FEATURE_LIST (self));
  g_return_if_fail (fids != NULL || n_fids == 0);

  if (n_fids == 0)
    return;
  /* Stale values are never handed out again. */
  for (guint i = 0; i < n_fids; i++)
    g_hash_table_remove (self->cache, &fids[i]);

  job = g_new0 (ReadJob, 1);
  job->reader = g_atomic_rc_box_acquire (self->reader);
  job->fids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n_fids);
  g_array_append_vals (job->fids, fids, n_fids);
  weak = g_new0 (GWeakRef, 1);
  g_weak_ref_init (weak, self);
  task = g_task_new (NULL, self->cancellable, refresh_done_cb, weak);
  g_task_set_source_tag (task, dothi_feature_list_refresh);
  g_task_set_task_data (task, job, (GDestroyNotify) read_job_free);
  g_task_run_in_thread (task, read_thread);
}

gboolean
dothi_feature_list_load_sync (DothiFeatureList *self, guint position, guint n, GError **error)
{
  guint end;

  g_return_val_if_fail (DOTHI_IS_FEATURE_LIST (self), FALSE);

  end = MIN ((guint64) position + n, self->fids->len);
  for (guint start = position / PAGE_SIZE * PAGE_SIZE; start < end; start += PAGE_SIZE)
    {
      g_autoptr(GArray) fids = g_array_new (FALSE, FALSE, sizeof (gint64));
      GPtrArray *rows;

      for (guint i = start; i < MIN (start + PAGE_SIZE, self->fids->len); i++)
        {
          gint64 fid = g_array_index (self->fids, gint64, i);
          RowValues *cached = g_hash_table_lookup (self->cache, &fid);

          if (cached != NULL)
            touch_page (self, cached->page);
          else
            g_array_append_val (fids, fid);
        }
      if (fids->len == 0)
        continue;
      rows = reader_read (self->reader, (const gint64 *) fids->data, fids->len, error);
      if (rows == NULL)
        return FALSE;
      add_page (self, rows);
    }
  return TRUE;
}
