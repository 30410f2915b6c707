/* dothi-domain.c: field domains (see the header): the dothi_domains table,
 * setting a domain as one action, and the checks every edit goes through. */
#define G_LOG_DOMAIN "dothi-domain"

#include "config.h"
#include "dothi-domain.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-format.h"
#include "dothi-spatialite-store.h"

#define CREATE_TABLE_SQL \
  "CREATE TABLE IF NOT EXISTS dothi_domains (" \
  "layer TEXT NOT NULL, field TEXT NOT NULL, " \
  "required INTEGER NOT NULL DEFAULT 0, " \
  "min_value REAL, max_value REAL, " \
  "codes TEXT /* JSON object value→label */, " \
  "PRIMARY KEY (layer, field))"

/* ---- the struct ---------------------------------------------------------- */

static void
domain_code_free (DothiDomainCode *code)
{
  g_free (code->value);
  g_free (code->label);
  g_free (code);
}

DothiDomain *
dothi_domain_new (void)
{
  return g_new0 (DothiDomain, 1);
}

void
dothi_domain_free (DothiDomain *domain)
{
  if (domain == NULL)
    return;
  g_clear_pointer (&domain->codes, g_ptr_array_unref);
  g_free (domain);
}

void
dothi_domain_add_code (DothiDomain *domain,
                       const char  *value,
                       const char  *label)
{
  DothiDomainCode *code;

  g_return_if_fail (domain != NULL);
  g_return_if_fail (value != NULL);

  if (domain->codes == NULL)
    domain->codes = g_ptr_array_new_with_free_func ((GDestroyNotify) domain_code_free);
  code = g_new0 (DothiDomainCode, 1);
  code->value = g_strdup (value);
  code->label = label != NULL && label[0] != '\0' ? g_strdup (label) : NULL;
  g_ptr_array_add (domain->codes, code);
}

DothiDomain *
dothi_domain_copy (const DothiDomain *domain)
{
  DothiDomain *copy;

  g_return_val_if_fail (domain != NULL, NULL);

  copy = dothi_domain_new ();
  copy->required = domain->required;
  copy->has_min = domain->has_min;
  copy->min = domain->min;
  copy->has_max = domain->has_max;
  copy->max = domain->max;
  for (guint i = 0; domain->codes != NULL && i < domain->codes->len; i++)
    {
      const DothiDomainCode *code = g_ptr_array_index (domain->codes, i);

      dothi_domain_add_code (copy, code->value, code->label);
    }
  return copy;
}

const DothiDomainCode *
dothi_domain_find_code (const DothiDomain *domain,
                        const char        *value)
{
  g_return_val_if_fail (domain != NULL, NULL);

  for (guint i = 0; value != NULL && domain->codes != NULL && i < domain->codes->len; i++)
    {
      const DothiDomainCode *code = g_ptr_array_index (domain->codes, i);

      if (g_str_equal (code->value, value))
        return code;
    }
  return NULL;
}

gboolean
dothi_domain_is_empty (const DothiDomain *domain)
{
  return domain == NULL
         || (!domain->required && !domain->has_min && !domain->has_max
             && (domain->codes == NULL || domain->codes->len == 0));
}

char *
dothi_domain_codes_to_json (const DothiDomain *domain)
{
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (domain != NULL, NULL);

  if (domain->codes == NULL || domain->codes->len == 0)
    return NULL;
  b = json_builder_new ();
  json_builder_begin_object (b);
  for (guint i = 0; i < domain->codes->len; i++)
    {
      const DothiDomainCode *code = g_ptr_array_index (domain->codes, i);

      json_builder_set_member_name (b, code->value);
      json_builder_add_string_value (b, code->label ? code->label : "");
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

gboolean
dothi_domain_set_codes_from_json (DothiDomain  *domain,
                                  const char   *json,
                                  const char   *field,
                                  GError      **error)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GList) members = NULL;
  JsonObject *object;

  g_return_val_if_fail (domain != NULL, FALSE);

  node = json != NULL ? json_from_string (json, NULL) : NULL;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a field name */
                   _("The code list of field “%s” is not a JSON object of codes and labels"),
                   field);
      return FALSE;
    }
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *member = json_object_get_member (object, l->data);

      if (!JSON_NODE_HOLDS_NULL (member)
          && (!JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_STRING))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: a code, then a field name */
                       _("The label of code “%s” of field “%s” is not text"),
                       (const char *) l->data, field);
          return FALSE;
        }
    }
  g_clear_pointer (&domain->codes, g_ptr_array_unref);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *member = json_object_get_member (object, l->data);

      dothi_domain_add_code (domain, l->data,
                             JSON_NODE_HOLDS_NULL (member) ? NULL : json_node_get_string (member));
    }
  return TRUE;
}

DothiDomain *
dothi_domain_new_from_style (const DothiStyle *style,
                             const char       *field)
{
  DothiDomain *domain;

  if (style == NULL || field == NULL || style->kind != DOTHI_STYLE_CATEGORISED
      || g_strcmp0 (style->field, field) != 0 || style->rules == NULL)
    return NULL;

  domain = dothi_domain_new ();
  for (guint i = 0; i < style->rules->len; i++)
    {
      const DothiStyleRule *rule = g_ptr_array_index (style->rules, i);
      const char *label = rule->label;

      if (rule->value == NULL || dothi_domain_find_code (domain, rule->value) != NULL)
        continue;
      if (label == NULL || label[0] == '\0' || g_str_equal (label, rule->value))
        label = dothi_style_land_use_name (rule->value);
      dothi_domain_add_code (domain, rule->value, label);
    }
  if (domain->codes == NULL)
    g_clear_pointer (&domain, dothi_domain_free);
  return domain;
}

/* ---- numbers for people -------------------------------------------------- */

char *
dothi_domain_format_number (double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *thousand = NULL;
  g_autofree char *whole = NULL;
  const char *sign = "";
  const char *mark;
  const char *point;
  gint64 integer;

  if (!isfinite (value))
    return g_strdup (g_ascii_dtostr (buf, sizeof buf, value));
  if (value == floor (value) && fabs (value) < 1e15)
    return dothi_format_int64 ((gint64) value);

  g_ascii_dtostr (buf, sizeof buf, fabs (value));
  point = strchr (buf, '.');
  if (point == NULL || strchr (buf, 'e') != NULL)
    return g_strdup (g_ascii_dtostr (buf, sizeof buf, value));
  if (value < 0)
    sign = "-";
  integer = g_ascii_strtoll (buf, NULL, 10);
  whole = dothi_format_int64 (integer);
  /* The decimal mark is the one the thousands separator is not: "1.000"
   * groups in Vietnamese, so "0,5"; "1,000" in English, so "0.5". */
  thousand = dothi_format_int64 (1000);
  mark = strchr (thousand, '.') != NULL ? "," : ".";
  return g_strconcat (sign, whole, mark, point + 1, NULL);
}

/* ---- the table ----------------------------------------------------------- */

static sqlite3 *
project_db (DothiProject  *project,
            GError       **error)
{
  DothiStore *store = dothi_project_get_store (project);

  if (!DOTHI_IS_SPATIALITE_STORE (store))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: a project file */
                   _("Field rules are not supported by the storage of “%s”"),
                   dothi_project_get_path (project));
      return NULL;
    }
  return dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (store));
}

static gboolean
set_db_error (DothiProject  *project,
              sqlite3       *db,
              GError       **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: a project file, then SQLite's message */
               _("Cannot read or write the field rules of “%s”: %s"),
               dothi_project_get_path (project), sqlite3_errmsg (db));
  return FALSE;
}

static gboolean
table_exists (sqlite3 *db)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                          "AND name = 'dothi_domains'", -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  return sqlite3_step (stmt) == SQLITE_ROW;
}

/* Reads the rows of @layer (only @field's when not NULL) into @domains. */
static gboolean
read_domains (DothiProject  *project,
              sqlite3       *db,
              const char    *layer,
              const char    *field,
              GHashTable    *domains,
              GError       **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!table_exists (db))
    return TRUE;
  if (sqlite3_prepare_v2 (db, "SELECT field, required, min_value, max_value, codes "
                          "FROM dothi_domains WHERE layer = ?1 AND (?2 IS NULL OR field = ?2) "
                          "ORDER BY field", -1, &stmt, NULL) != SQLITE_OK)
    return set_db_error (project, db, error);
  sqlite3_bind_text (stmt, 1, layer, -1, SQLITE_TRANSIENT);
  if (field != NULL)
    sqlite3_bind_text (stmt, 2, field, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, 2);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr(DothiDomain) domain = dothi_domain_new ();
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      const char *codes = (const char *) sqlite3_column_text (stmt, 4);

      domain->required = sqlite3_column_int (stmt, 1) != 0;
      domain->has_min = sqlite3_column_type (stmt, 2) != SQLITE_NULL;
      domain->min = sqlite3_column_double (stmt, 2);
      domain->has_max = sqlite3_column_type (stmt, 3) != SQLITE_NULL;
      domain->max = sqlite3_column_double (stmt, 3);
      /* A code list another program broke is ignored, not fatal. */
      if (codes != NULL && !dothi_domain_set_codes_from_json (domain, codes, name, NULL))
        g_clear_pointer (&domain->codes, g_ptr_array_unref);
      g_hash_table_replace (domains, g_strdup (name), g_steal_pointer (&domain));
    }
  if (rc != SQLITE_DONE)
    return set_db_error (project, db, error);
  return TRUE;
}

GHashTable *
dothi_domain_get_all (DothiProject  *project,
                      const char    *layer,
                      GError       **error)
{
  g_autoptr(GHashTable) domains = NULL;
  sqlite3 *db;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (layer != NULL, NULL);

  domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) dothi_domain_free);
  db = project_db (project, error);
  if (db == NULL || !read_domains (project, db, layer, NULL, domains, error))
    return NULL;
  return g_steal_pointer (&domains);
}

static const char *
layer_title (const DothiLayerInfo *info)
{
  return info->title && info->title[0] ? info->title : info->name;
}

static gboolean
is_number_type (DothiFieldType type)
{
  return type == DOTHI_FIELD_INTEGER || type == DOTHI_FIELD_REAL;
}

/* Checks @domain for @field and returns a copy with integer codes in
 * their canonical form ("03" → "3"). */
static DothiDomain *
validate_domain (const DothiLayerInfo  *info,
                 const DothiField      *field,
                 const DothiDomain     *domain,
                 GError               **error)
{
  g_autoptr(DothiDomain) copy = dothi_domain_new ();

  if ((domain->has_min && !isfinite (domain->min)) || (domain->has_max && !isfinite (domain->max)))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a field name, then a layer title */
                   _("The range of field “%s” of “%s” needs finite numbers"),
                   field->name, layer_title (info));
      return NULL;
    }
  if ((domain->has_min || domain->has_max) && !is_number_type (field->type))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a field name, then a layer title */
                   _("Field “%s” of “%s” does not hold numbers, so it cannot have a range"),
                   field->name, layer_title (info));
      return NULL;
    }
  if (domain->has_min && domain->has_max && domain->min > domain->max)
    {
      g_autofree char *min = dothi_domain_format_number (domain->min);
      g_autofree char *max = dothi_domain_format_number (domain->max);

      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a field name, a layer title, then two numbers */
                   _("The minimum of field “%s” of “%s” (%s) is more than its maximum (%s)"),
                   field->name, layer_title (info), min, max);
      return NULL;
    }
  copy->required = domain->required;
  copy->has_min = domain->has_min;
  copy->min = domain->has_min ? domain->min : 0;
  copy->has_max = domain->has_max;
  copy->max = domain->has_max ? domain->max : 0;

  if (domain->codes != NULL && domain->codes->len > 0
      && field->type != DOTHI_FIELD_TEXT && field->type != DOTHI_FIELD_INTEGER)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a field name, then a layer title */
                   _("Field “%s” of “%s” can have a code list only when it holds text or whole numbers"),
                   field->name, layer_title (info));
      return NULL;
    }
  for (guint i = 0; domain->codes != NULL && i < domain->codes->len; i++)
    {
      const DothiDomainCode *code = g_ptr_array_index (domain->codes, i);
      g_autofree char *value = NULL;
      gint64 number;

      if (code->value == NULL || code->value[0] == '\0')
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: a field name, then a layer title */
                       _("A code of field “%s” of “%s” is empty"),
                       field->name, layer_title (info));
          return NULL;
        }
      if (field->type == DOTHI_FIELD_INTEGER)
        {
          g_autofree char *stripped = g_strstrip (g_strdup (code->value));

          if (!g_ascii_string_to_signed (stripped, 10, G_MININT64, G_MAXINT64, &number, NULL))
            {
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           /* Translators: a code, a field name, then a layer title */
                           _("Code “%s” of field “%s” of “%s” is not a whole number"),
                           code->value, field->name, layer_title (info));
              return NULL;
            }
          value = g_strdup_printf ("%" G_GINT64_FORMAT, number);
        }
      else
        value = g_utf8_normalize (code->value, -1, G_NORMALIZE_NFC);
      if (value == NULL || dothi_domain_find_code (copy, value) != NULL)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: a code, a field name, then a layer title */
                       _("Code “%s” of field “%s” of “%s” is listed twice"),
                       code->value, field->name, layer_title (info));
          return NULL;
        }
      dothi_domain_add_code (copy, value, code->label);
    }
  return g_steal_pointer (&copy);
}

static void
add_domain_json (JsonBuilder       *b,
                 const DothiDomain *domain)
{
  if (dothi_domain_is_empty (domain))
    {
      json_builder_add_null_value (b);
      return;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "required");
  json_builder_add_boolean_value (b, domain->required);
  if (domain->has_min)
    {
      json_builder_set_member_name (b, "min");
      json_builder_add_double_value (b, domain->min);
    }
  if (domain->has_max)
    {
      json_builder_set_member_name (b, "max");
      json_builder_add_double_value (b, domain->max);
    }
  if (domain->codes != NULL && domain->codes->len > 0)
    {
      json_builder_set_member_name (b, "codes");
      json_builder_begin_object (b);
      for (guint i = 0; i < domain->codes->len; i++)
        {
          const DothiDomainCode *code = g_ptr_array_index (domain->codes, i);

          json_builder_set_member_name (b, code->value);
          json_builder_add_string_value (b, code->label ? code->label : "");
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
}

/* The action's journal: one "set_domain" schema step with what the
 * domain was and became, which dothi-edit.c compensates (undo, redo). */
static char *
domain_journal (const char        *layer,
                const char        *field,
                const DothiDomain *before,
                const DothiDomain *after)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, "do");
  json_builder_set_member_name (b, "schema");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "op");
  json_builder_add_string_value (b, "set_domain");
  json_builder_set_member_name (b, "layer");
  json_builder_add_string_value (b, layer);
  json_builder_set_member_name (b, "field");
  json_builder_add_string_value (b, field);
  json_builder_set_member_name (b, "before");
  add_domain_json (b, before);
  json_builder_set_member_name (b, "after");
  add_domain_json (b, after);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static gboolean
write_domain (DothiProject       *project,
              sqlite3            *db,
              const char         *layer,
              const char         *field,
              const DothiDomain  *domain,
              GError            **error)
{
  g_autoptr(sqlite3_stmt) del = NULL;
  g_autoptr(sqlite3_stmt) ins = NULL;
  g_autofree char *codes = NULL;

  if (sqlite3_prepare_v2 (db, "DELETE FROM dothi_domains WHERE layer = ?1 AND field = ?2",
                          -1, &del, NULL) != SQLITE_OK)
    return set_db_error (project, db, error);
  sqlite3_bind_text (del, 1, layer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (del, 2, field, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (del) != SQLITE_DONE)
    return set_db_error (project, db, error);
  if (dothi_domain_is_empty (domain))
    return TRUE;

  if (sqlite3_prepare_v2 (db, "INSERT INTO dothi_domains "
                          "(layer, field, required, min_value, max_value, codes) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &ins, NULL) != SQLITE_OK)
    return set_db_error (project, db, error);
  sqlite3_bind_text (ins, 1, layer, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (ins, 2, field, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (ins, 3, domain->required ? 1 : 0);
  if (domain->has_min)
    sqlite3_bind_double (ins, 4, domain->min);
  else
    sqlite3_bind_null (ins, 4);
  if (domain->has_max)
    sqlite3_bind_double (ins, 5, domain->max);
  else
    sqlite3_bind_null (ins, 5);
  codes = dothi_domain_codes_to_json (domain);
  if (codes != NULL)
    sqlite3_bind_text (ins, 6, codes, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (ins, 6);
  if (sqlite3_step (ins) != SQLITE_DONE)
    return set_db_error (project, db, error);
  return TRUE;
}

gboolean
dothi_domain_set (DothiProject       *project,
                  const char         *layer,
                  const char         *field,
                  const DothiDomain  *domain,
                  GError            **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiDomain) valid = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autofree char *label = NULL;
  g_autofree char *journal = NULL;
  DothiStore *store;
  sqlite3 *db;
  int fi;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (layer != NULL && field != NULL, FALSE);

  if (dothi_project_get_read_only (project))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   /* Translators: project file */
                   _("“%s” is open read-only"), dothi_project_get_path (project));
      return FALSE;
    }
  info = dothi_project_get_layer (project, layer, error);
  if (info == NULL)
    return FALSE;
  fi = dothi_layer_info_find_field (info, field);
  if (fi < 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: a field name, then a layer title */
                   _("There is no field “%s” in “%s”"), field, layer_title (info));
      return FALSE;
    }
  if (!dothi_domain_is_empty (domain))
    {
      valid = validate_domain (info, g_ptr_array_index (info->fields, fi), domain, error);
      if (valid == NULL)
        return FALSE;
    }
  db = project_db (project, error);
  if (db == NULL)
    return FALSE;

  store = dothi_project_get_store (project);
  /* Translators: an action in the history: a field name, then a layer title */
  label = g_strdup_printf (_("Change the rules of field “%s” of “%s”"), field, layer_title (info));
  if (!dothi_store_begin (store, label, error))
    return FALSE;
  before = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                  (GDestroyNotify) dothi_domain_free);
  if (!dothi_spatialite_store_exec (DOTHI_SPATIALITE_STORE (store), CREATE_TABLE_SQL, error)
      || !read_domains (project, db, layer, field, before, error)
      || !write_domain (project, db, layer, field, valid, error))
    goto rollback;
  journal = domain_journal (layer, field, g_hash_table_lookup (before, field), valid);
  if (!dothi_spatialite_store_set_action_journal (DOTHI_SPATIALITE_STORE (store), 0, journal, error)
      || !dothi_store_commit (store, error))
    goto rollback;
  return TRUE;

rollback:
  dothi_store_rollback (store);
  return FALSE;
}

/* ---- checks -------------------------------------------------------------- */

/* The value of a JSON number or numeric text; FALSE for anything else
 * (its type is checked elsewhere). */
static gboolean
node_number (JsonNode *node,
             double   *value)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    *value = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    *value = json_node_get_double (node);
  else if (type == G_TYPE_STRING)
    {
      const char *text = json_node_get_string (node);
      char *end = NULL;

      *value = g_ascii_strtod (text, &end);
      return end != text && *end == '\0' && isfinite (*value);
    }
  else
    return FALSE;
  return isfinite (*value);
}

/* The value as code text: "ODT", "3"; NULL when not text or a number. */
static char *
node_code (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    return g_utf8_normalize (json_node_get_string (node), -1, G_NORMALIZE_NFC);
  if (type == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  if (type == G_TYPE_DOUBLE)
    {
      double d = json_node_get_double (node);
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      if (d == floor (d) && fabs (d) < 1e15)
        return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) d);
      return g_strdup (g_ascii_dtostr (buf, sizeof buf, d));
    }
  return NULL;
}

static char *
node_text (JsonNode *node)
{
  double d;

  if (node_number (node, &d) && json_node_get_value_type (node) != G_TYPE_STRING)
    return dothi_domain_format_number (d);
  return node_code (node);
}

static gboolean
required_error (const DothiLayerInfo  *info,
                const DothiField      *field,
                GError               **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: a field name, then a layer title */
               _("Field “%s” is required in “%s”"), field->name, layer_title (info));
  return FALSE;
}

gboolean
dothi_domain_check_value (const DothiDomain    *domain,
                          const DothiLayerInfo *info,
                          const DothiField     *field,
                          JsonNode             *value,
                          GError              **error)
{
  double number;

  g_return_val_if_fail (info != NULL && field != NULL, FALSE);

  if (domain == NULL)
    return TRUE;
  if (value == NULL || JSON_NODE_HOLDS_NULL (value))
    return domain->required ? required_error (info, field, error) : TRUE;

  if ((domain->has_min || domain->has_max) && is_number_type (field->type)
      && node_number (value, &number)
      && ((domain->has_min && number < domain->min) || (domain->has_max && number > domain->max)))
    {
      g_autofree char *min = dothi_domain_format_number (domain->min);
      g_autofree char *max = dothi_domain_format_number (domain->max);
      g_autofree char *text = node_text (value);

      if (domain->has_min && domain->has_max)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: a field name, a layer title, the lowest and
                      * highest number allowed, then the value given */
                     _("Field “%s” of “%s” must be between %s and %s, not %s"),
                     field->name, layer_title (info), min, max, text);
      else if (domain->has_min)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: a field name, a layer title, the lowest
                      * number allowed, then the value given */
                     _("Field “%s” of “%s” must be at least %s, not %s"),
                     field->name, layer_title (info), min, text);
      else
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: a field name, a layer title, the highest
                      * number allowed, then the value given */
                     _("Field “%s” of “%s” must be at most %s, not %s"),
                     field->name, layer_title (info), max, text);
      return FALSE;
    }

  if (domain->codes != NULL && domain->codes->len > 0)
    {
      g_autofree char *code = node_code (value);

      if (code != NULL && dothi_domain_find_code (domain, code) == NULL)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: the value given, a field name, then a
                        * layer title */
                       _("“%s” is not a code of field “%s” of “%s”"),
                       code, field->name, layer_title (info));
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
dothi_domain_check_properties (GHashTable            *domains,
                               const DothiLayerInfo  *info,
                               JsonObject            *properties,
                               gboolean               is_insert,
                               GError               **error)
{
  g_return_val_if_fail (info != NULL, FALSE);

  if (domains == NULL || g_hash_table_size (domains) == 0)
    return TRUE;

  /* In the order of the layer's fields, so the first error is stable; a
   * domain of a field the layer no longer has checks nothing. */
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *field = g_ptr_array_index (info->fields, i);
      const DothiDomain *domain;
      JsonNode *value;

      domain = g_hash_table_lookup (domains, field->name);
      if (domain == NULL)
        continue;
      value = properties != NULL ? json_object_get_member (properties, field->name) : NULL;
      if (value == NULL && !is_insert)
        continue;
      if (!dothi_domain_check_value (domain, info, field, value, error))
        return FALSE;
    }
  return TRUE;
}

char *
dothi_domain_dup_json (const DothiDomain *domain)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  /* A builder holds no bare null at its root. */
  if (dothi_domain_is_empty (domain))
    return g_strdup ("null");
  add_domain_json (b, domain);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

DothiDomain *
dothi_domain_new_from_json_node (JsonNode *node)
{
  g_autoptr(DothiDomain) domain = NULL;
  JsonObject *obj;
  JsonNode *codes;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  obj = json_node_get_object (node);
  domain = dothi_domain_new ();
  domain->required = json_object_get_boolean_member_with_default (obj, "required", FALSE);
  if (json_object_has_member (obj, "min"))
    {
      domain->has_min = TRUE;
      domain->min = json_object_get_double_member (obj, "min");
    }
  if (json_object_has_member (obj, "max"))
    {
      domain->has_max = TRUE;
      domain->max = json_object_get_double_member (obj, "max");
    }
  codes = json_object_get_member (obj, "codes");
  if (codes != NULL && JSON_NODE_HOLDS_OBJECT (codes))
    {
      JsonObject *c = json_node_get_object (codes);
      g_autoptr(GList) members = json_object_get_members (c);

      for (GList *l = members; l != NULL; l = l->next)
        dothi_domain_add_code (domain, l->data, json_object_get_string_member (c, l->data));
    }
  return g_steal_pointer (&domain);
}

gboolean
dothi_domain_write (DothiProject       *project,
                    const char         *layer,
                    const char         *field,
                    const DothiDomain  *domain,
                    GError            **error)
{
  sqlite3 *db = project_db (project, error);

  if (db == NULL)
    return FALSE;
  if (sqlite3_exec (db, "CREATE TABLE IF NOT EXISTS dothi_domains (layer TEXT NOT NULL, "
                    "field TEXT NOT NULL, required INTEGER NOT NULL DEFAULT 0, min_value REAL, "
                    "max_value REAL, codes TEXT, PRIMARY KEY (layer, field))",
                    NULL, NULL, NULL) != SQLITE_OK)
    return set_db_error (project, db, error);
  return write_domain (project, db, layer, field, domain, error);
}
