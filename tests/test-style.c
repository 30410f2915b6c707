/* test-style.c: layer styles: colours, the JSON form and its validation,
 * symbol lookup (also from many threads), revisions, and the default
 * styles with land-use and zoning colours, on hand-made and demo data. */
#include "config.h"

#include "dothi-error.h"
#include "dothi-layer-info.h"
#include "dothi-style.h"
#include "test-util.h"

#include <locale.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

static void
assert_color_hex (const DothiColor *color, const char *hex)
{
  g_autofree char *text = dothi_color_to_string (color);

  g_assert_cmpstr (text, ==, hex);
}

static DothiSymbol
make_symbol (const char *fill, const char *stroke, double width)
{
  DothiSymbol s = { 0 };

  g_assert_true (dothi_color_parse (fill, &s.fill));
  g_assert_true (dothi_color_parse (stroke, &s.stroke));
  s.stroke_width = width;
  s.marker_size = 7;
  s.marker = DOTHI_MARKER_CIRCLE;
  return s;
}

/* ---- colours ------------------------------------------------------------ */

static void
test_color_parse (void)
{
  const char *bad[] = {
    "", "ffa0ff", "#ffa0f", "#ffa0ff0", "#ffa0ff00ff", "#gg0000", "#ffa0f ",
    "red", "#", " #ffa0ff",
  };
  DothiColor c = { 0 };

  g_assert_true (dothi_color_parse ("#FFA0ff", &c));
  g_assert_cmpfloat_with_epsilon (c.r, 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (c.g, 160 / 255.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (c.b, 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (c.a, 1.0, 1e-12);
  assert_color_hex (&c, "#ffa0ff");

  g_assert_true (dothi_color_parse ("#11223380", &c));
  g_assert_cmpfloat_with_epsilon (c.r, 0x11 / 255.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (c.a, 0x80 / 255.0, 1e-12);
  assert_color_hex (&c, "#11223380");

  /* An opaque "#rrggbbff" is written back without alpha. */
  g_assert_true (dothi_color_parse ("#000000FF", &c));
  assert_color_hex (&c, "#000000");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      DothiColor untouched = { 0.25, 0.25, 0.25, 0.25 };

      g_test_message ("colour “%s”", bad[i]);
      g_assert_false (dothi_color_parse (bad[i], &untouched));
    }
  g_assert_false (dothi_color_parse (NULL, &c));

  /* Out-of-range channels are clamped, not wrapped. */
  c = (DothiColor) { 1.5, -0.2, 0.5, 1.0 };
  assert_color_hex (&c, "#ff0080");
}

/* ---- JSON ----------------------------------------------------------------- */

static DothiStyle *
make_categorised (void)
{
  DothiStyle *style = dothi_style_new (DOTHI_STYLE_CATEGORISED);
  DothiSymbol odt = make_symbol ("#ffa0ff", "#9e639e", 0.6);
  DothiSymbol cln = make_symbol ("#ffd2a0", "#9e8263", 0.6);
  DothiSymbol none = make_symbol ("#ffffff80", "#000000", 0);

  style->field = g_strdup ("muc_dich");
  style->label_field = g_strdup ("so_thua");
  style->label_max_resolution = 0.6;
  style->outline_min_px = 3.0;
  style->other_label = g_strdup ("Khác \"x\"\n\\");
  cln.marker = DOTHI_MARKER_DIAMOND;
  cln.marker_size = 10.25;
  dothi_style_add_rule (style, "ODT — Đất ở tại đô thị", "ODT", 0, 0, &odt);
  dothi_style_add_rule (style, "CLN — Đất trồng cây lâu năm", "CLN", 0, 0, &cln);
  dothi_style_add_rule (style, "(trống)", NULL, 0, 0, &none);
  return style;
}

static DothiStyle *
make_graduated (void)
{
  DothiStyle *style = dothi_style_new (DOTHI_STYLE_GRADUATED);
  DothiSymbol a = make_symbol ("#eff3ff", "#08519c", 1.5);
  DothiSymbol b = make_symbol ("#6baed6", "#08519c", 1.5);
  DothiSymbol c = make_symbol ("#08519c", "#08306b", 2.25);

  style->field = g_strdup ("dien_tich");
  dothi_style_add_rule (style, "< 100 m²", NULL, -INFINITY, 100, &a);
  dothi_style_add_rule (style, "100–250.5 m²", NULL, 100, 250.5, &b);
  dothi_style_add_rule (style, "≥ 250.5 m²", NULL, 250.5, INFINITY, &c);
  style->draw_other = FALSE;
  return style;
}

static void
assert_round_trip (const DothiStyle *style)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *json = dothi_style_to_json (style);
  g_autoptr(DothiStyle) back = dothi_style_new_from_json (json, "parcels", &error);
  g_autofree char *again = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (back);
  again = dothi_style_to_json (back);
  g_assert_cmpstr (again, ==, json);
  g_assert_cmpint (dothi_style_get_revision (back), ==,
                   dothi_style_get_revision (style));
  g_assert_cmpint (back->kind, ==, style->kind);
  g_assert_cmpstr (back->field, ==, style->field);
  g_assert_cmpstr (back->other_label, ==, style->other_label);
  g_assert_cmpstr (back->label_field, ==, style->label_field);
  g_assert_cmpint (back->draw_other, ==, style->draw_other);
  g_assert_cmpuint (back->rules->len, ==, style->rules->len);
  for (guint i = 0; i < style->rules->len; i++)
    {
      const DothiStyleRule *r = g_ptr_array_index (style->rules, i);
      const DothiStyleRule *s = g_ptr_array_index (back->rules, i);

      g_assert_cmpstr (s->label, ==, r->label);
      g_assert_cmpint (s->symbol.marker, ==, r->symbol.marker);
      g_assert_cmpfloat (s->symbol.stroke_width, ==, r->symbol.stroke_width);
      g_assert_cmpfloat (s->symbol.marker_size, ==, r->symbol.marker_size);
      if (style->kind == DOTHI_STYLE_GRADUATED)
        {
          g_assert_cmpfloat (s->min, ==, r->min);
          g_assert_cmpfloat (s->max, ==, r->max);
        }
      else
        g_assert_cmpstr (s->value, ==, r->value);
    }
}

static void
test_json_round_trip (void)
{
  g_autoptr(DothiStyle) cat = make_categorised ();
  g_autoptr(DothiStyle) grad = make_graduated ();
  g_autoptr(DothiStyle) single = dothi_style_new (DOTHI_STYLE_SINGLE);
  g_autofree char *json = NULL;

  assert_round_trip (cat);
  assert_round_trip (grad);
  assert_round_trip (single);

  /* Keys in a fixed order, numbers in their shortest exact form. */
  single->other = make_symbol ("#4e79a7", "#304b67", 1.5);
  single->label_max_resolution = 0.6;
  json = dothi_style_to_json (single);
  g_assert_cmpstr (json, ==,
                   "{\"version\":1,\"kind\":\"single\",\"field\":null,"
                   "\"draw_other\":true,\"other_label\":null,"
                   "\"other\":{\"fill\":\"#4e79a7\",\"stroke\":\"#304b67\","
                   "\"stroke_width\":1.5,\"marker\":\"circle\",\"marker_size\":7},"
                   "\"outline_min_px\":3,\"label_field\":null,"
                   "\"label_max_resolution\":0.6,\"max_resolution\":0,\"rules\":[]}");

  /* Open-ended classes are written as null and read back as infinite. */
  g_clear_pointer (&json, g_free);
  json = dothi_style_to_json (grad);
  g_assert_nonnull (strstr (json, "\"min\":null,\"max\":100,"));
  g_assert_nonnull (strstr (json, "\"min\":250.5,\"max\":null,"));

  /* The same text under a locale whose decimal separator is a comma. */
  {
    g_autofree char *saved = g_strdup (setlocale (LC_NUMERIC, NULL));

    if (setlocale (LC_NUMERIC, "vi_VN.UTF-8") != NULL)
      {
        g_autofree char *vi = dothi_style_to_json (grad);
        g_autoptr(GError) error = NULL;
        g_autoptr(DothiStyle) back = dothi_style_new_from_json (vi, "parcels", &error);

        setlocale (LC_NUMERIC, saved);
        g_assert_cmpstr (vi, ==, json);
        g_assert_no_error (error);
        g_assert_cmpfloat (((DothiStyleRule *) back->rules->pdata[1])->max, ==, 250.5);
      }
    else
      g_test_message ("vi_VN.UTF-8 locale missing: comma check skipped");
  }
}

static void
assert_invalid (const char *json, const char *expected_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DothiStyle) style = NULL;

  g_test_message ("style %s", json);
  style = dothi_style_new_from_json (json, "thua_dat_2024", &error);
  g_assert_null (style);
  g_assert_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "thua_dat_2024"));
  if (expected_part != NULL)
    g_assert_nonnull (strstr (error->message, expected_part));
}

static void
test_json_invalid (void)
{
  assert_invalid ("", NULL);
  assert_invalid ("{\"kind\":\"single\"", NULL);
  assert_invalid ("[1, 2]", NULL);
  assert_invalid ("{\"kind\":\"heatmap\"}", "heatmap");
  assert_invalid ("{}", NULL);
  assert_invalid ("{\"kind\":\"single\",\"other\":{\"fill\":\"#12zz00\"}}", "#12zz00");
  assert_invalid ("{\"kind\":\"categorised\",\"rules\":[]}", NULL);
  assert_invalid ("{\"kind\":\"graduated\",\"field\":\"\"}", NULL);
  assert_invalid ("{\"kind\":\"single\",\"other\":{\"stroke_width\":\"wide\"}}",
                  "stroke_width");
  assert_invalid ("{\"kind\":\"single\",\"other\":{\"stroke_width\":-1}}",
                  "stroke_width");
  assert_invalid ("{\"kind\":\"single\",\"other\":{\"marker\":\"star\"}}", "star");
  assert_invalid ("{\"kind\":\"single\",\"draw_other\":1}", "draw_other");
  assert_invalid ("{\"kind\":\"categorised\",\"field\":\"muc_dich\","
                  "\"rules\":[{\"label\":\"x\",\"value\":\"ODT\","
                  "\"symbol\":{\"stroke\":\"#ff00\"}}]}", "#ff00");
  assert_invalid ("{\"kind\":\"categorised\",\"field\":\"muc_dich\",\"rules\":[3]}",
                  "rules");
  assert_invalid ("{\"kind\":\"graduated\",\"field\":\"dien_tich\","
                  "\"rules\":[{\"label\":\"ngược\",\"min\":10,\"max\":5,"
                  "\"symbol\":{}}]}", "ngược");

  /* A minimal valid style takes the defaults for what it leaves out. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(DothiStyle) style =
      dothi_style_new_from_json ("{\"kind\":\"categorised\",\"field\":\"muc_dich\"}",
                                 "thua_dat_2024", &error);

    g_assert_no_error (error);
    g_assert_cmpint (style->kind, ==, DOTHI_STYLE_CATEGORISED);
    g_assert_cmpuint (style->rules->len, ==, 0);
    g_assert_true (style->draw_other);
  }
}

/* ---- copies, references, revisions --------------------------------------- */

static void
test_copy (void)
{
  g_autoptr(DothiStyle) style = make_categorised ();
  g_autoptr(DothiStyle) copy = dothi_style_copy (style);
  g_autofree char *a = dothi_style_to_json (style);
  g_autofree char *b = dothi_style_to_json (copy);
  DothiStyleRule *rule;
  DothiStyle *boxed;

  g_assert_cmpstr (a, ==, b);
  g_assert_true (copy != style);
  g_assert_true (copy->rules != style->rules);

  rule = g_ptr_array_index (copy->rules, 0);
  g_free (rule->label);
  rule->label = g_strdup ("changed");
  g_free (copy->field);
  copy->field = g_strdup ("loai_dat");
  g_assert_cmpstr (((DothiStyleRule *) style->rules->pdata[0])->label, ==,
                   "ODT — Đất ở tại đô thị");
  g_assert_cmpstr (style->field, ==, "muc_dich");

  /* The boxed copy of a shared style is a reference. */
  boxed = g_boxed_copy (DOTHI_TYPE_STYLE, style);
  g_assert_true (boxed == style);
  g_boxed_free (DOTHI_TYPE_STYLE, boxed);
  g_assert_cmpstr (style->field, ==, "muc_dich");
}

static void
test_revision (void)
{
  g_autoptr(DothiStyle) a = make_categorised ();
  g_autoptr(DothiStyle) b = make_categorised ();
  g_autoptr(DothiStyle) c = dothi_style_copy (a);
  guint64 rev = dothi_style_get_revision (a);
  DothiStyleRule *rule;

  g_assert_cmpint (rev, !=, 0);
  g_assert_cmpint (dothi_style_get_revision (b), ==, rev);
  g_assert_cmpint (dothi_style_get_revision (c), ==, rev);

  rule = g_ptr_array_index (c->rules, 1);
  g_assert_true (dothi_color_parse ("#ffd2a1", &rule->symbol.fill));
  g_assert_cmpint (dothi_style_get_revision (c), !=, rev);
  g_assert_true (dothi_color_parse ("#ffd2a0", &rule->symbol.fill));
  g_assert_cmpint (dothi_style_get_revision (c), ==, rev);

  c->label_max_resolution = 1.0;
  g_assert_cmpint (dothi_style_get_revision (c), !=, rev);
  c->label_max_resolution = 0.6;
  g_assert_cmpint (dothi_style_get_revision (c), ==, rev);

  c->draw_other = FALSE;
  g_assert_cmpint (dothi_style_get_revision (c), !=, rev);
}

/* ---- lookup ------------------------------------------------------------- */

static void
test_lookup_categorised (void)
{
  g_autoptr(DothiStyle) style = make_categorised ();
  g_autoptr(DothiStyle) numbers = dothi_style_new (DOTHI_STYLE_CATEGORISED);
  DothiSymbol s = make_symbol ("#ff0000", "#000000", 1);
  const DothiStyleRule *odt = g_ptr_array_index (style->rules, 0);
  const DothiStyleRule *cln = g_ptr_array_index (style->rules, 1);
  const DothiStyleRule *none = g_ptr_array_index (style->rules, 2);

  g_assert_true (dothi_style_lookup_text (style, "ODT") == &odt->symbol);
  g_assert_true (dothi_style_lookup_text (style, "CLN") == &cln->symbol);
  /* Exact text: no case folding, no trimming. */
  g_assert_true (dothi_style_lookup_text (style, "odt") == &style->other);
  g_assert_true (dothi_style_lookup_text (style, "ODT ") == &style->other);
  g_assert_true (dothi_style_lookup_text (style, "") == &style->other);
  /* A null field matches the rule without a value. */
  g_assert_true (dothi_style_lookup_text (style, NULL) == &none->symbol);

  style->draw_other = FALSE;
  g_assert_null (dothi_style_lookup_text (style, "LUC"));
  g_assert_true (dothi_style_lookup_text (style, "ODT") == &odt->symbol);

  /* Number fields match the rule with their text. */
  numbers->field = g_strdup ("so_tang");
  dothi_style_add_rule (numbers, "5 tầng", "5", 0, 0, &s);
  dothi_style_add_rule (numbers, "0,25", "0.25", 0, 0, &s);
  numbers->draw_other = FALSE;
  g_assert_true (dothi_style_lookup_number (numbers, 5)
                 == &((DothiStyleRule *) numbers->rules->pdata[0])->symbol);
  g_assert_true (dothi_style_lookup_number (numbers, 0.25)
                 == &((DothiStyleRule *) numbers->rules->pdata[1])->symbol);
  g_assert_null (dothi_style_lookup_number (numbers, 6));
  g_assert_null (dothi_style_lookup_number (numbers, NAN));

  /* A single style draws everything with its one symbol. */
  {
    g_autoptr(DothiStyle) single = dothi_style_new (DOTHI_STYLE_SINGLE);

    g_assert_true (dothi_style_lookup_text (single, "x") == &single->other);
    g_assert_true (dothi_style_lookup_text (single, NULL) == &single->other);
    g_assert_true (dothi_style_lookup_number (single, 3) == &single->other);
  }
}

static void
test_lookup_graduated (void)
{
  g_autoptr(DothiStyle) style = make_graduated ();
  const DothiSymbol *low = &((DothiStyleRule *) style->rules->pdata[0])->symbol;
  const DothiSymbol *mid = &((DothiStyleRule *) style->rules->pdata[1])->symbol;
  const DothiSymbol *high = &((DothiStyleRule *) style->rules->pdata[2])->symbol;
  g_autoptr(DothiStyle) closed = dothi_style_new (DOTHI_STYLE_GRADUATED);
  DothiSymbol s = make_symbol ("#ff0000", "#000000", 1);

  g_assert_true (dothi_style_lookup_number (style, -1e300) == low);
  g_assert_true (dothi_style_lookup_number (style, 99.999) == low);
  /* min inclusive, max exclusive */
  g_assert_true (dothi_style_lookup_number (style, 100) == mid);
  g_assert_true (dothi_style_lookup_number (style, 250.49) == mid);
  g_assert_true (dothi_style_lookup_number (style, 250.5) == high);
  g_assert_true (dothi_style_lookup_number (style, INFINITY) == NULL);
  g_assert_null (dothi_style_lookup_number (style, NAN));

  g_assert_true (dothi_style_lookup_text (style, "100") == mid);
  g_assert_true (dothi_style_lookup_text (style, " 100.0 ") == mid);
  g_assert_true (dothi_style_lookup_text (style, "2.505e2") == high);
  g_assert_true (dothi_style_lookup_text (style, "99.5") == low);
  /* Not a number: not drawn (draw_other is FALSE), drawn as other when TRUE. */
  g_assert_null (dothi_style_lookup_text (style, "99,5"));
  g_assert_null (dothi_style_lookup_text (style, "abc"));
  g_assert_null (dothi_style_lookup_text (style, ""));
  g_assert_null (dothi_style_lookup_text (style, NULL));
  style->draw_other = TRUE;
  g_assert_true (dothi_style_lookup_text (style, "abc") == &style->other);

  closed->field = g_strdup ("tang_cao");
  dothi_style_add_rule (closed, "1–3", NULL, 1, 4, &s);
  dothi_style_add_rule (closed, "4–9", NULL, 4, 10, &s);
  g_assert_true (dothi_style_lookup_number (closed, 0.5) == &closed->other);
  g_assert_true (dothi_style_lookup_number (closed, 4)
                 == &((DothiStyleRule *) closed->rules->pdata[1])->symbol);
  g_assert_true (dothi_style_lookup_number (closed, 10) == &closed->other);
}

typedef struct {
  DothiStyle *style;
  guint       matches;
} LookupJob;

static gpointer
lookup_thread (gpointer data)
{
  LookupJob *job = data;
  g_autoptr(DothiStyle) style = dothi_style_ref (job->style);
  const char *codes[] = { "ODT", "CLN", "LUC", "TMD" };

  for (guint i = 0; i < 200000; i++)
    {
      const DothiSymbol *s = dothi_style_lookup_text (style, codes[i % 4]);

      if (s != &style->other)
        job->matches++;
    }
  return NULL;
}

static void
test_lookup_threads (void)
{
  g_autoptr(DothiStyle) style = make_categorised ();
  LookupJob jobs[4];
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      jobs[i] = (LookupJob) { style, 0 };
      threads[i] = g_thread_new ("lookup", lookup_thread, &jobs[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (jobs[i].matches, ==, 100000);
    }
}

/* ---- defaults ------------------------------------------------------------ */

static GHashTable *
values_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                (GDestroyNotify) g_ptr_array_unref);
}

static void
values_add (GHashTable *values, const char *field, ...)
{
  GPtrArray *array = g_ptr_array_new_with_free_func (g_free);
  va_list args;
  const char *v;

  va_start (args, field);
  while ((v = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (array, g_strdup (v));
  va_end (args);
  g_hash_table_insert (values, g_strdup (field), array);
}

static DothiLayerInfo *
parcel_info (void)
{
  DothiLayerInfo *info = dothi_layer_info_new ();

  info->name = g_strdup ("parcels");
  info->title = g_strdup ("Thửa đất");
  info->kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  dothi_layer_info_add_field (info, "so_to", DOTHI_FIELD_INTEGER);
  dothi_layer_info_add_field (info, "ma_xa", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "ten_chu", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "so_thua", DOTHI_FIELD_INTEGER);
  dothi_layer_info_add_field (info, "muc_dich", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "dien_tich", DOTHI_FIELD_REAL);
  return info;
}

static const DothiStyleRule *
find_rule (const DothiStyle *style, const char *value)
{
  for (guint i = 0; i < style->rules->len; i++)
    {
      const DothiStyleRule *r = g_ptr_array_index (style->rules, i);

      if (g_strcmp0 (r->value, value) == 0)
        return r;
    }
  g_assert_not_reached ();
  return NULL;
}

static void
test_default_land_use (void)
{
  g_autoptr(DothiLayerInfo) info = parcel_info ();
  g_autoptr(GHashTable) values = values_new ();
  g_autoptr(DothiStyle) style = NULL;
  g_autofree char *json = NULL;
  DothiColor odt = { 0 }, luc = { 0 };
  const DothiStyleRule *rule;

  values_add (values, "ma_xa", "24121", "24124", NULL);
  values_add (values, "ten_chu", "Nguyễn Văn An", "Trần Thị Bình", NULL);
  /* 4 of 5 known (80 %): "XYZ" is left to the other symbol. */
  values_add (values, "muc_dich", "XYZ", "ODT", "CLN", "LUC", "ODT+CLN", NULL);

  style = dothi_style_new_default (info, values);
  g_assert_cmpint (style->kind, ==, DOTHI_STYLE_CATEGORISED);
  g_assert_cmpstr (style->field, ==, "muc_dich");
  g_assert_cmpuint (style->rules->len, ==, 4);
  g_assert_cmpstr (style->label_field, ==, "so_thua");
  g_assert_cmpfloat_with_epsilon (style->label_max_resolution, 0.6, 1e-9);
  g_assert_cmpfloat_with_epsilon (style->outline_min_px, 3.0, 1e-9);
  g_assert_true (style->draw_other);

  g_assert_true (dothi_style_land_use_color ("ODT", &odt));
  assert_color_hex (&odt, "#ffa0ff");
  rule = find_rule (style, "ODT");
  g_assert_cmpstr (rule->label, ==, "ODT — Đất ở tại đô thị");
  assert_color_hex (&rule->symbol.fill, "#ffa0ff");
  g_assert_cmpfloat_with_epsilon (rule->symbol.stroke_width, 0.6, 1e-9);
  /* The outline is a darker shade of the fill. */
  g_assert_cmpfloat (rule->symbol.stroke.r + rule->symbol.stroke.g + rule->symbol.stroke.b,
                     <, rule->symbol.fill.r + rule->symbol.fill.g + rule->symbol.fill.b);
  g_assert_true (dothi_style_lookup_text (style, "ODT") == &rule->symbol);

  /* Rice keeps its conventional yellow; a mixed parcel takes its first code. */
  g_assert_true (dothi_style_land_use_color ("luc", &luc));
  assert_color_hex (&luc, "#fffc78");
  assert_color_hex (&find_rule (style, "LUC")->symbol.fill, "#fffc78");
  rule = find_rule (style, "ODT+CLN");
  assert_color_hex (&rule->symbol.fill, "#ffa0ff");
  g_assert_cmpstr (rule->label, ==,
                   "ODT+CLN — Đất ở tại đô thị + Đất trồng cây lâu năm");
  /* Legend order follows the circular: agriculture first. */
  g_assert_cmpstr (((DothiStyleRule *) style->rules->pdata[0])->value, ==, "LUC");
  g_assert_true (dothi_style_lookup_text (style, "XYZ") == &style->other);

  json = dothi_style_to_json (style);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(DothiStyle) back = dothi_style_new_from_json (json, "parcels", &error);
    g_autofree char *again = dothi_style_to_json (back);

    g_assert_no_error (error);
    g_assert_cmpstr (again, ==, json);
  }

  /* Below 60 % known (2 of 4) it is not a land-use field. */
  {
    g_autoptr(GHashTable) few = values_new ();
    g_autoptr(DothiStyle) single = NULL;

    values_add (few, "muc_dich", "ODT", "CLN", "nhà", "vườn", NULL);
    single = dothi_style_new_default (info, few);
    g_assert_cmpint (single->kind, ==, DOTHI_STYLE_SINGLE);
  }
}

static void
test_land_use_names (void)
{
  const char *codes[] = {
    "ODT", "ONT", "LUC", "LUK", "LUN", "HNK", "BHK", "CLN", "RSX", "RPH", "RDD",
    "NTS", "LMU", "NKH", "TSC", "DTS", "DVH", "DYT", "DGD", "DTT", "DKH", "DXH",
    "DNG", "DSK", "DKV", "CQP", "CAN", "SKK", "SKN", "SKC", "TMD", "SKS", "SKX",
    "DGT", "DTL", "DNL", "DBV", "DCH", "DRA", "DKG", "DSH", "TIN", "TON", "NTD",
    "SON", "MNC", "PNK", "CSD", "BCS", "DCS", "NCS", "TSN",
  };
  DothiColor c = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      const char *name = dothi_style_land_use_name (codes[i]);

      g_test_message ("code %s", codes[i]);
      g_assert_nonnull (name);
      g_assert_true (g_utf8_validate (name, -1, NULL));
      g_assert_true (dothi_style_land_use_color (codes[i], &c));
      g_assert_cmpfloat (c.a, ==, 1.0);
    }
  g_assert_cmpstr (dothi_style_land_use_name ("ODT"), ==, "Đất ở tại đô thị");
  g_assert_cmpstr (dothi_style_land_use_name ("CLN"), ==, "Đất trồng cây lâu năm");
  g_assert_null (dothi_style_land_use_name ("XYZ"));
  g_assert_null (dothi_style_land_use_name ("ODTX"));
  g_assert_null (dothi_style_land_use_name (""));
  g_assert_false (dothi_style_land_use_color ("OD", &c));

  /* Water is blue, forest green, defence red. */
  g_assert_true (dothi_style_land_use_color ("SON", &c));
  g_assert_cmpfloat (c.b, >, c.r);
  g_assert_true (dothi_style_land_use_color ("RPH", &c));
  g_assert_cmpfloat (c.g, >, c.r);
  g_assert_cmpfloat (c.g, >, c.b);
  g_assert_true (dothi_style_land_use_color ("CQP", &c));
  assert_color_hex (&c, "#ff6464");
}

static void
test_default_zoning (void)
{
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  g_autoptr(GHashTable) values = values_new ();
  g_autoptr(DothiStyle) style = NULL;
  const DothiStyleRule *cx, *ohh, *om, *cn, *mn, *nt;

  info->name = g_strdup ("zoning");
  info->kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  dothi_layer_info_add_field (info, "ma_khu", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "chuc_nang", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "tang_cao", DOTHI_FIELD_INTEGER);
  values_add (values, "ma_khu", "OHH-01", "CX-02", "CN-01", NULL);
  /* "Đất ở mới" with a decomposed tone mark, "Cây xanh" without "Đất". */
  values_add (values, "chuc_nang", "Đất ở hiện hữu", "Đa\xcc\x82\xcc\x81t ở mới",
              "Cây xanh", "ĐẤT CÔNG NGHIỆP", "Mặt nước", "Đất ở nông thôn",
              "Khu vực đặc thù", NULL);

  style = dothi_style_new_default (info, values);
  g_assert_cmpint (style->kind, ==, DOTHI_STYLE_CATEGORISED);
  g_assert_cmpstr (style->field, ==, "chuc_nang");
  g_assert_cmpuint (style->rules->len, ==, 6);
  g_assert_cmpstr (style->label_field, ==, "ma_khu");

  ohh = find_rule (style, "Đất ở hiện hữu");
  om = find_rule (style, "Đa\xcc\x82\xcc\x81t ở mới");
  nt = find_rule (style, "Đất ở nông thôn");
  cx = find_rule (style, "Cây xanh");
  cn = find_rule (style, "ĐẤT CÔNG NGHIỆP");
  mn = find_rule (style, "Mặt nước");
  g_assert_cmpstr (ohh->label, ==, "Đất ở hiện hữu");

  /* Residential: orange tones, new areas stronger than existing ones. */
  g_assert_cmpfloat (ohh->symbol.fill.r, >, ohh->symbol.fill.b);
  g_assert_cmpfloat (om->symbol.fill.g, <, ohh->symbol.fill.g);
  g_assert_cmpfloat (nt->symbol.fill.r, >, nt->symbol.fill.b);
  /* Green space green, industry violet, water blue. */
  g_assert_cmpfloat (cx->symbol.fill.g, >, cx->symbol.fill.r);
  g_assert_cmpfloat (cx->symbol.fill.g, >, cx->symbol.fill.b);
  g_assert_cmpfloat (cn->symbol.fill.b, >, cn->symbol.fill.g);
  g_assert_cmpfloat (cn->symbol.fill.r, >, cn->symbol.fill.g);
  g_assert_cmpfloat (mn->symbol.fill.b, >, mn->symbol.fill.r);

  g_assert_true (dothi_style_lookup_text (style, "Khu vực đặc thù") == &style->other);
}

static void
test_default_single_line (void)
{
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  g_autoptr(DothiLayerInfo) other_info = NULL;
  g_autoptr(DothiStyle) style = NULL;
  g_autoptr(DothiStyle) again = NULL;

  info->name = g_strdup ("bus_routes");
  info->kind = DOTHI_GEOMETRY_KIND_MULTILINESTRING;
  dothi_layer_info_add_field (info, "ma_tuyen", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "ten", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "ten_duong", DOTHI_FIELD_TEXT);

  style = dothi_style_new_default (info, NULL);
  g_assert_cmpint (style->kind, ==, DOTHI_STYLE_SINGLE);
  g_assert_cmpfloat_with_epsilon (style->other.stroke_width, 1.5, 1e-9);
  g_assert_cmpfloat (style->other.stroke.a, ==, 1.0);
  g_assert_cmpstr (style->label_field, ==, "ten_duong");
  g_assert_cmpfloat_with_epsilon (style->label_max_resolution, 5.0, 1e-9);
  g_assert_true (dothi_style_lookup_text (style, "anything") == &style->other);

  /* Deterministic: the same layer gets the same style. */
  again = dothi_style_new_default (info, NULL);
  g_assert_cmpint (dothi_style_get_revision (again), ==,
                   dothi_style_get_revision (style));

  /* Water mains are blue whatever their hash. */
  other_info = dothi_layer_info_copy (info);
  g_free (other_info->name);
  other_info->name = g_strdup ("water_mains");
  g_clear_pointer (&again, dothi_style_unref);
  again = dothi_style_new_default (other_info, NULL);
  g_assert_cmpfloat (again->other.stroke.b, >, again->other.stroke.r);

  /* Points: a 7 px circle; polygons: fill and a 0.6 px outline. */
  {
    g_autoptr(DothiLayerInfo) points = dothi_layer_info_new ();
    g_autoptr(DothiLayerInfo) polygons = parcel_info ();
    g_autoptr(DothiStyle) p = NULL;
    g_autoptr(DothiStyle) q = NULL;

    points->name = g_strdup ("trees");
    points->kind = DOTHI_GEOMETRY_KIND_MULTIPOINT;
    dothi_layer_info_add_field (points, "ma_cay", DOTHI_FIELD_TEXT);
    p = dothi_style_new_default (points, NULL);
    g_assert_cmpint (p->other.marker, ==, DOTHI_MARKER_CIRCLE);
    g_assert_cmpfloat_with_epsilon (p->other.marker_size, 7.0, 1e-9);
    g_assert_cmpstr (p->label_field, ==, "ma_cay");
    g_assert_cmpfloat_with_epsilon (p->label_max_resolution, 2.0, 1e-9);

    q = dothi_style_new_default (polygons, NULL);
    g_assert_cmpint (q->kind, ==, DOTHI_STYLE_SINGLE);
    g_assert_cmpfloat_with_epsilon (q->other.stroke_width, 0.6, 1e-9);
    g_assert_cmpfloat_with_epsilon (q->outline_min_px, 3.0, 1e-9);
    g_assert_cmpstr (q->label_field, ==, "so_thua");
  }
}

static void
test_default_status_points (void)
{
  g_autoptr(DothiLayerInfo) info = dothi_layer_info_new ();
  g_autoptr(GHashTable) values = values_new ();
  g_autoptr(DothiStyle) style = NULL;
  const DothiSymbol *open, *closed, *fix;

  info->name = g_strdup ("water_valves");
  info->kind = DOTHI_GEOMETRY_KIND_MULTIPOINT;
  dothi_layer_info_add_field (info, "ma_van", DOTHI_FIELD_TEXT);
  dothi_layer_info_add_field (info, "trang_thai", DOTHI_FIELD_TEXT);
  values_add (values, "ma_van", "V-001", "V-002", NULL);
  values_add (values, "trang_thai", "bảo trì", "đóng", "mở", NULL);

  style = dothi_style_new_default (info, values);
  g_assert_cmpint (style->kind, ==, DOTHI_STYLE_CATEGORISED);
  g_assert_cmpstr (style->field, ==, "trang_thai");
  g_assert_cmpstr (style->label_field, ==, "ma_van");
  open = dothi_style_lookup_text (style, "mở");
  closed = dothi_style_lookup_text (style, "đóng");
  fix = dothi_style_lookup_text (style, "bảo trì");
  g_assert_nonnull (open);
  g_assert_true (open != &style->other);
  g_assert_cmpfloat (open->fill.g, >, open->fill.r);
  g_assert_cmpfloat (closed->fill.r, >, closed->fill.g);
  g_assert_cmpfloat_with_epsilon (fix->fill.r, fix->fill.b, 0.1);
  g_assert_cmpstr (((DothiStyleRule *) style->rules->pdata[0])->value, ==, "mở");
}

/* ---- defaults on the demo city ------------------------------------------ */

static DothiFieldType
field_type_of (const char *decl)
{
  g_autofree char *up = g_ascii_strup (decl != NULL ? decl : "", -1);

  if (strstr (up, "POINT") != NULL || strstr (up, "LINESTRING") != NULL
      || strstr (up, "POLYGON") != NULL || strstr (up, "GEOMETRY") != NULL)
    return DOTHI_FIELD_BLOB;
  if (strstr (up, "INT") != NULL)
    return DOTHI_FIELD_INTEGER;
  if (strstr (up, "REAL") != NULL || strstr (up, "DOUB") != NULL)
    return DOTHI_FIELD_REAL;
  if (strstr (up, "TEXT") != NULL || strstr (up, "CHAR") != NULL)
    return DOTHI_FIELD_TEXT;
  return DOTHI_FIELD_BLOB;
}

/* The layer's columns and up to 100 distinct values of each text column,
 * read from @db as dothi_project_distinct_values() would sample them. */
static DothiLayerInfo *
read_layer (sqlite3 *db, const char *table, DothiGeometryKind kind,
            GHashTable *values)
{
  DothiLayerInfo *info = dothi_layer_info_new ();
  sqlite3_stmt *stmt = NULL;
  char *sql;

  info->name = g_strdup (table);
  info->kind = kind;
  sql = sqlite3_mprintf ("PRAGMA table_info(\"%w\")", table);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_free (sql);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 1);
      DothiFieldType type = field_type_of ((const char *) sqlite3_column_text (stmt, 2));

      if (strcmp (name, "fid") == 0 || type == DOTHI_FIELD_BLOB)
        continue;
      dothi_layer_info_add_field (info, name, type);
    }
  sqlite3_finalize (stmt);

  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      GPtrArray *array;

      if (f->type != DOTHI_FIELD_TEXT)
        continue;
      array = g_ptr_array_new_with_free_func (g_free);
      sql = sqlite3_mprintf ("SELECT DISTINCT \"%w\" FROM \"%w\" WHERE \"%w\" IS NOT NULL "
                             "ORDER BY 1 LIMIT 100", f->name, table, f->name);
      g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
      sqlite3_free (sql);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        g_ptr_array_add (array, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
      sqlite3_finalize (stmt);
      g_hash_table_insert (values, g_strdup (f->name), array);
    }
  return info;
}

static void
test_default_demo_city (void)
{
  g_autofree char *demo = g_build_filename (g_getenv ("G_TEST_BUILDDIR") != NULL
                                            ? g_getenv ("G_TEST_BUILDDIR") : ".",
                                            "..", "demo", "buon-ma-thuot.dothi", NULL);
  g_autofree char *uri = NULL;
  sqlite3 *src = NULL, *db = NULL;
  sqlite3_backup *backup;
  g_autoptr(GHashTable) values = values_new ();
  g_autoptr(DothiLayerInfo) parcels = NULL;
  g_autoptr(DothiLayerInfo) zoning = NULL;
  g_autoptr(DothiLayerInfo) valves = NULL;
  g_autoptr(DothiLayerInfo) roads = NULL;
  g_autoptr(DothiStyle) style = NULL;

  if (!g_file_test (demo, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("demo project not built");
      return;
    }
  /* Work on an in-memory copy; immutable=1 keeps SQLite from creating
   * -wal/-shm files beside the demo, which is never written. */
  uri = g_strdup_printf ("file:%s?mode=ro&immutable=1", demo);
  g_assert_cmpint (sqlite3_open_v2 (uri, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                                    NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_open (":memory:", &db), ==, SQLITE_OK);
  backup = sqlite3_backup_init (db, "main", src, "main");
  g_assert_nonnull (backup);
  g_assert_cmpint (sqlite3_backup_step (backup, -1), ==, SQLITE_DONE);
  sqlite3_backup_finish (backup);
  sqlite3_close (src);

  parcels = read_layer (db, "parcels", DOTHI_GEOMETRY_KIND_MULTIPOLYGON, values);
  style = dothi_style_new_default (parcels, values);
  g_assert_cmpint (style->kind, ==, DOTHI_STYLE_CATEGORISED);
  g_assert_cmpstr (style->field, ==, "muc_dich");
  g_assert_cmpstr (style->label_field, ==, "so_thua");
  assert_color_hex (&dothi_style_lookup_text (style, "ODT")->fill, "#ffa0ff");
  assert_color_hex (&dothi_style_lookup_text (style, "CLN")->fill, "#ffd2a0");
  g_clear_pointer (&style, dothi_style_unref);
  g_hash_table_remove_all (values);

  zoning = read_layer (db, "zoning", DOTHI_GEOMETRY_KIND_MULTIPOLYGON, values);
  style = dothi_style_new_default (zoning, values);
  g_assert_cmpint (style->kind, ==, DOTHI_STYLE_CATEGORISED);
  g_assert_cmpstr (style->field, ==, "chuc_nang");
  /* Every function of the demo has a colour of its own class. */
  for (guint i = 0; i < style->rules->len; i++)
    g_test_message ("zoning %s", ((DothiStyleRule *) style->rules->pdata[i])->value);
  g_assert_cmpuint (style->rules->len, ==,
                    ((GPtrArray *) g_hash_table_lookup (values, "chuc_nang"))->len);
  g_clear_pointer (&style, dothi_style_unref);
  g_hash_table_remove_all (values);

  valves = read_layer (db, "water_valves", DOTHI_GEOMETRY_KIND_MULTIPOINT, values);
  style = dothi_style_new_default (valves, values);
  g_assert_cmpint (style->kind, ==, DOTHI_STYLE_CATEGORISED);
  g_assert_cmpstr (style->field, ==, "trang_thai");
  g_clear_pointer (&style, dothi_style_unref);
  g_hash_table_remove_all (values);

  roads = read_layer (db, "roads", DOTHI_GEOMETRY_KIND_MULTILINESTRING, values);
  style = dothi_style_new_default (roads, values);
  g_assert_cmpint (style->kind, ==, DOTHI_STYLE_SINGLE);
  g_assert_cmpstr (style->label_field, ==, "ten_duong");

  sqlite3_close (db);
}

int
main (int argc, char **argv)
{
  dothi_test_init (&argc, &argv);

  g_test_add_func ("/style/color/parse", test_color_parse);
  g_test_add_func ("/style/json/round-trip", test_json_round_trip);
  g_test_add_func ("/style/json/invalid", test_json_invalid);
  g_test_add_func ("/style/copy", test_copy);
  g_test_add_func ("/style/revision", test_revision);
  g_test_add_func ("/style/lookup/categorised", test_lookup_categorised);
  g_test_add_func ("/style/lookup/graduated", test_lookup_graduated);
  g_test_add_func ("/style/lookup/threads", test_lookup_threads);
  g_test_add_func ("/style/default/land-use", test_default_land_use);
  g_test_add_func ("/style/default/land-use-names", test_land_use_names);
  g_test_add_func ("/style/default/zoning", test_default_zoning);
  g_test_add_func ("/style/default/single-line", test_default_single_line);
  g_test_add_func ("/style/default/status-points", test_default_status_points);
  g_test_add_func ("/style/default/demo-city", test_default_demo_city);

  return g_test_run ();
}
