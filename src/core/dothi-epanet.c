/* dothi-epanet.c: reads EPANET 2.x .inp water network models into a GDAL
 * Memory dataset, one layer per element type, with the file's units
 * converted to SI (the rules follow the EPANET 2.2/2.3 input parser), and
 * writes the layers of a project back to an .inp in LPS. */
#define G_LOG_DOMAIN "dothi-epanet"

#include "config.h"
#include "dothi-epanet.h"

#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-spatialite-store.h"
#include "dothi-store.h"

#include <cpl_error.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <string.h>

#define FT_TO_M     0.3048
#define IN_TO_MM    25.4
#define FT3_TO_M3   (0.3048 * 0.3048 * 0.3048)
#define HP_TO_KW    0.745699872
/* EPANET's own constants (units.h), so that pressure settings become the
 * same heads the engine computes. */
#define PSI_PER_FT  0.4333
#define KPA_PER_PSI 6.895

/* Litres in a US gallon and an imperial gallon, cubic feet in an acre-foot. */
#define US_GALLON_L  3.785411784
#define IMP_GALLON_L 4.54609
#define ACRE_FOOT_FT3 43560.0

typedef struct {
  const char *name;
  double      lps;       /* litres per second in one unit */
  gboolean    us;        /* US customary units for the other quantities */
} FlowUnits;

static const FlowUnits flow_units[] = {
  { "CFS",  28.316846592,                           TRUE },
  { "GPM",  US_GALLON_L / 60.0,                     TRUE },
  { "MGD",  US_GALLON_L * 1e6 / 86400.0,            TRUE },
  { "IMGD", IMP_GALLON_L * 1e6 / 86400.0,           TRUE },
  { "AFD",  ACRE_FOOT_FT3 * 28.316846592 / 86400.0, TRUE },
  { "LPS",  1.0,                                    FALSE },
  { "LPM",  1.0 / 60.0,                             FALSE },
  { "MLD",  1e6 / 86400.0,                          FALSE },
  { "CMH",  1000.0 / 3600.0,                        FALSE },
  { "CMD",  1000.0 / 86400.0,                       FALSE },
  { "CMS",  1000.0,                                 FALSE },  /* EPANET 2.3 */
};

typedef enum {
  HEADLOSS_HW,
  HEADLOSS_DW,
  HEADLOSS_CM,
} Headloss;

static const char * const headloss_names[] = { "H-W", "D-W", "C-M" };

typedef enum {
  PRESSURE_DEFAULT,  /* psi with US units, metres with SI ones */
  PRESSURE_PSI,
  PRESSURE_KPA,
  PRESSURE_METERS,
  PRESSURE_BAR,
  PRESSURE_FEET,
} PressureUnits;

typedef enum {
  NODE_JUNCTION,
  NODE_RESERVOIR,
  NODE_TANK,
  N_NODE_KINDS
} NodeKind;

typedef enum {
  LINK_PIPE,
  LINK_PUMP,
  LINK_VALVE,
  N_LINK_KINDS
} LinkKind;

/* Values are kept in the file's units until the whole file (and so its
 * [OPTIONS], often the last section) has been read. */
typedef struct {
  NodeKind  kind;
  char     *id;
  guint     line;
  double    elevation;       /* head for reservoirs */
  double    demand;          /* [JUNCTIONS] column */
  double    demands_sum;     /* [DEMANDS] entries */
  gboolean  has_demands;
  char     *pattern;
  double    init_level;
  double    min_level;
  double    max_level;
  double    diameter;
  double    min_volume;
  char     *curve;
  gboolean  has_xy;
  double    x;
  double    y;
} Node;

typedef struct {
  LinkKind     kind;
  char        *id;
  guint        line;
  const char  *section;
  char        *node1;
  char        *node2;
  double       length;
  double       diameter;
  double       roughness;
  double       minor_loss;
  double       setting;
  gboolean     has_setting;
  double       power;
  gboolean     has_power;
  char        *status;       /* pipes: OPEN/CLOSED/CV; valves: the type */
  char        *parameters;   /* pumps */
  char        *curve;        /* GPV and PCV valves */
  GArray      *vertices;     /* double x, y pairs */
} Link;

/* A line of [DEMANDS], [COORDINATES] or [VERTICES], resolved once every
 * node and link is known: sections come in any order. */
typedef struct {
  char        *id;
  guint        line;
  const char  *section;
  double       a;
  double       b;
  char        *pattern;
} Pending;

typedef struct _Parser Parser;
typedef gboolean (*LineFunc) (Parser *p, GError **error);

typedef struct {
  const char *name;      /* canonical, as in the EPANET manual */
  LineFunc    func;      /* NULL: the section is skipped */
} Section;

struct _Parser {
  char             *display_name;
  guint             line;
  const Section    *section;
  GPtrArray        *tokens;          /* borrowed, into the file's text */

  GPtrArray        *nodes[N_NODE_KINDS];
  GPtrArray        *links[N_LINK_KINDS];
  GHashTable       *node_ids;        /* id -> Node, borrowed */
  GHashTable       *link_ids;        /* id -> Link, borrowed */
  GArray           *demands;         /* Pending */
  GArray           *coordinates;     /* Pending */
  GArray           *vertices;        /* Pending */

  const FlowUnits  *units;
  Headloss          headloss;
  PressureUnits     pressure;
  double            specific_gravity;
  char             *title;
};

/* Sections of SWMM, whose input files share the .inp extension and
 * a [JUNCTIONS] section with EPANET's. */
static const char * const swmm_sections[] = {
  "RAINGAGES", "SUBCATCHMENTS", "SUBAREAS", "INFILTRATION", "OUTFALLS",
  "CONDUITS", "XSECTIONS", "EVAPORATION", "TEMPERATURE", "STORAGE",
  "DIVIDERS", "ORIFICES", "WEIRS", "OUTLETS", "TRANSECTS", "LOSSES",
  "INFLOWS", "DWF", "HYDROGRAPHS", "POLYGONS", "SYMBOLS", "MAP",
  "LID_CONTROLS", "LID_USAGE", "AQUIFERS", "GROUNDWATER", "SNOWPACKS",
};

static void
node_free (Node *node)
{
  g_free (node->id);
  g_free (node->pattern);
  g_free (node->curve);
  g_free (node);
}

static void
link_free (Link *link)
{
  g_free (link->id);
  g_free (link->node1);
  g_free (link->node2);
  g_free (link->status);
  g_free (link->parameters);
  g_free (link->curve);
  g_clear_pointer (&link->vertices, g_array_unref);
  g_free (link);
}

static void
pending_clear (Pending *pending)
{
  g_free (pending->id);
  g_free (pending->pattern);
}

static Parser *
parser_new (const char *path)
{
  Parser *p = g_new0 (Parser, 1);

  p->display_name = g_filename_display_basename (path);
  p->tokens = g_ptr_array_new ();
  for (guint i = 0; i < N_NODE_KINDS; i++)
    p->nodes[i] = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
  for (guint i = 0; i < N_LINK_KINDS; i++)
    p->links[i] = g_ptr_array_new_with_free_func ((GDestroyNotify) link_free);
  p->node_ids = g_hash_table_new (g_str_hash, g_str_equal);
  p->link_ids = g_hash_table_new (g_str_hash, g_str_equal);
  p->demands = g_array_new (FALSE, TRUE, sizeof (Pending));
  g_array_set_clear_func (p->demands, (GDestroyNotify) pending_clear);
  p->coordinates = g_array_new (FALSE, TRUE, sizeof (Pending));
  g_array_set_clear_func (p->coordinates, (GDestroyNotify) pending_clear);
  p->vertices = g_array_new (FALSE, TRUE, sizeof (Pending));
  g_array_set_clear_func (p->vertices, (GDestroyNotify) pending_clear);
  p->units = &flow_units[1];  /* EPANET's default, GPM */
  p->headloss = HEADLOSS_HW;
  p->pressure = PRESSURE_DEFAULT;
  p->specific_gravity = 1.0;
  return p;
}

static void
parser_free (Parser *p)
{
  g_free (p->display_name);
  g_ptr_array_unref (p->tokens);
  g_hash_table_unref (p->node_ids);
  g_hash_table_unref (p->link_ids);
  for (guint i = 0; i < N_NODE_KINDS; i++)
    g_ptr_array_unref (p->nodes[i]);
  for (guint i = 0; i < N_LINK_KINDS; i++)
    g_ptr_array_unref (p->links[i]);
  g_array_unref (p->demands);
  g_array_unref (p->coordinates);
  g_array_unref (p->vertices);
  g_free (p->title);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Parser, parser_free)

static inline const char *
tok (Parser *p, guint i)
{
  return g_ptr_array_index (p->tokens, i);
}

static inline guint
n_tokens (Parser *p)
{
  return p->tokens->len;
}

/* Splits @line in place into p->tokens as EPANET does: blanks separate,
 * and a token opening with a double quote runs to the next one. The
 * comment (from ';') has already been cut off. */
static void
split_tokens (Parser *p, char *line)
{
  static const char blanks[] = " \t\r\n\v\f";
  char *c = line;

  g_ptr_array_set_size (p->tokens, 0);
  for (;;)
    {
      gsize n;

      c += strspn (c, blanks);
      if (*c == '\0')
        break;
      if (*c == '"')
        {
          char *end;

          c++;
          end = strchr (c, '"');
          g_ptr_array_add (p->tokens, c);
          if (end == NULL)
            {
              g_strchomp (c);
              break;
            }
          *end = '\0';
          c = end + 1;
          continue;
        }
      n = strcspn (c, blanks);
      g_ptr_array_add (p->tokens, c);
      if (c[n] == '\0')
        break;
      c[n] = '\0';
      c += n + 1;
    }
}

/* A new NFC copy of an id, pattern or curve name. */
static char *
dup_id (const char *text)
{
  for (const char *c = text; *c != '\0'; c++)
    if ((guchar) *c >= 0x80)
      return g_utf8_normalize (text, -1, G_NORMALIZE_NFC);
  return g_strdup (text);
}

/* NULL for an empty name and EPANET's "*" placeholder. */
static char *
dup_optional_id (const char *text)
{
  if (text == NULL || *text == '\0' || strcmp (text, "*") == 0)
    return NULL;
  return dup_id (text);
}

static gboolean
keyword_is (const char *token, const char *keyword)
{
  return g_ascii_strcasecmp (token, keyword) == 0;
}

static gboolean
parse_number (const char *text, double *value)
{
  char *end = NULL;
  double v;

  if (*text == '\0')
    return FALSE;
  /* g_ascii_strtod also takes "inf", "nan" and hexadecimal: EPANET does
   * not, and none of them is a model value. */
  for (const char *c = text; *c != '\0'; c++)
    if (!g_ascii_isdigit (*c) && strchr ("+-.eE", *c) == NULL)
      return FALSE;
  v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (v))
    return FALSE;
  *value = v;
  return TRUE;
}

static gboolean
get_number (Parser *p, guint i, double *value, GError **error)
{
  if (parse_number (tok (p, i), value))
    return TRUE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: file, line number, section (PIPES), the text */
               _("%s, line %u, section [%s]: “%s” is not a number"),
               p->display_name, p->line, p->section->name, tok (p, i));
  return FALSE;
}

static gboolean
check_count (Parser *p, guint min, GError **error)
{
  if (n_tokens (p) >= min)
    return TRUE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               g_dngettext (GETTEXT_PACKAGE,
                            /* Translators: file, line number, section
                               (PIPES), number of values */
                            "%s, line %u, section [%s]: expected at least %u value",
                            "%s, line %u, section [%s]: expected at least %u values",
                            min),
               p->display_name, p->line, p->section->name, min);
  return FALSE;
}

static gboolean
set_unknown_keyword (Parser *p, guint i, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: file, line number, section (VALVES), the word */
               _("%s, line %u, section [%s]: unknown keyword “%s”"),
               p->display_name, p->line, p->section->name, tok (p, i));
  return FALSE;
}

static gboolean
check_id (Parser *p, guint i, GError **error)
{
  if (*tok (p, i) != '\0')
    return TRUE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: file, line number, section (JUNCTIONS) */
               _("%s, line %u, section [%s]: an id cannot be empty"),
               p->display_name, p->line, p->section->name);
  return FALSE;
}

static gboolean
set_duplicate (Parser *p, const char *id, guint first_line, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: file, line number, section (JUNCTIONS), an id,
                  the line number where it first appears */
               _("%s, line %u, section [%s]: “%s” is already defined on line %u"),
               p->display_name, p->line, p->section->name, id, first_line);
  return FALSE;
}

static Node *
add_node (Parser *p, NodeKind kind, GError **error)
{
  g_autofree char *id = NULL;
  Node *node;
  Node *existing;

  if (!check_id (p, 0, error))
    return NULL;
  id = dup_id (tok (p, 0));
  existing = g_hash_table_lookup (p->node_ids, id);
  if (existing != NULL)
    {
      set_duplicate (p, id, existing->line, error);
      return NULL;
    }
  node = g_new0 (Node, 1);
  node->kind = kind;
  node->id = g_steal_pointer (&id);
  node->line = p->line;
  g_ptr_array_add (p->nodes[kind], node);
  g_hash_table_insert (p->node_ids, node->id, node);
  return node;
}

/* Adds the link named by the first three tokens (id, node1, node2); the
 * end nodes are checked once the whole file is read. */
static Link *
add_link (Parser *p, LinkKind kind, GError **error)
{
  g_autofree char *id = NULL;
  Link *link;
  Link *existing;

  if (!check_id (p, 0, error) || !check_id (p, 1, error) || !check_id (p, 2, error))
    return NULL;
  id = dup_id (tok (p, 0));
  existing = g_hash_table_lookup (p->link_ids, id);
  if (existing != NULL)
    {
      set_duplicate (p, id, existing->line, error);
      return NULL;
    }
  link = g_new0 (Link, 1);
  link->kind = kind;
  link->id = g_steal_pointer (&id);
  link->line = p->line;
  link->section = p->section->name;
  link->node1 = dup_id (tok (p, 1));
  link->node2 = dup_id (tok (p, 2));
  g_ptr_array_add (p->links[kind], link);
  g_hash_table_insert (p->link_ids, link->id, link);
  return link;
}

/* [JUNCTIONS] id elevation (demand) (pattern) */
static gboolean
parse_junction (Parser *p, GError **error)
{
  Node *node;

  if (!check_count (p, 2, error)
      || (node = add_node (p, NODE_JUNCTION, error)) == NULL
      || !get_number (p, 1, &node->elevation, error)
      || (n_tokens (p) > 2 && !get_number (p, 2, &node->demand, error)))
    return FALSE;
  if (n_tokens (p) > 3)
    node->pattern = dup_optional_id (tok (p, 3));
  return TRUE;
}

/* [RESERVOIRS] id head (pattern) */
static gboolean
parse_reservoir (Parser *p, GError **error)
{
  Node *node;

  if (!check_count (p, 2, error)
      || (node = add_node (p, NODE_RESERVOIR, error)) == NULL
      || !get_number (p, 1, &node->elevation, error))
    return FALSE;
  if (n_tokens (p) > 2)
    node->pattern = dup_optional_id (tok (p, 2));
  return TRUE;
}

/* [TANKS] id elevation initlevel minlevel maxlevel diameter (minvol)
 * (volcurve) (overflow); with at most three values the "tank" is a
 * reservoir, as in EPANET. */
static gboolean
parse_tank (Parser *p, GError **error)
{
  Node *node;

  if (n_tokens (p) >= 2 && n_tokens (p) <= 3)
    return parse_reservoir (p, error);
  if (!check_count (p, 6, error)
      || (node = add_node (p, NODE_TANK, error)) == NULL
      || !get_number (p, 1, &node->elevation, error)
      || !get_number (p, 2, &node->init_level, error)
      || !get_number (p, 3, &node->min_level, error)
      || !get_number (p, 4, &node->max_level, error)
      || !get_number (p, 5, &node->diameter, error)
      || (n_tokens (p) > 6 && !get_number (p, 6, &node->min_volume, error)))
    return FALSE;
  if (n_tokens (p) > 7)
    node->curve = dup_optional_id (tok (p, 7));
  return TRUE;
}

static const char *
pipe_status (const char *token)
{
  static const char * const statuses[] = { "OPEN", "CLOSED", "CV" };

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    if (keyword_is (token, statuses[i]))
      return statuses[i];
  return NULL;
}

/* [PIPES] id node1 node2 length diameter roughness (minorloss) (status);
 * a seventh value alone may be either. */
static gboolean
parse_pipe (Parser *p, GError **error)
{
  Link *link;
  const char *status = "OPEN";

  if (!check_count (p, 6, error)
      || (link = add_link (p, LINK_PIPE, error)) == NULL
      || !get_number (p, 3, &link->length, error)
      || !get_number (p, 4, &link->diameter, error)
      || !get_number (p, 5, &link->roughness, error))
    return FALSE;
  if (n_tokens (p) == 7 && pipe_status (tok (p, 6)) != NULL)
    status = pipe_status (tok (p, 6));
  else if (n_tokens (p) >= 7 && !get_number (p, 6, &link->minor_loss, error))
    return FALSE;
  if (n_tokens (p) >= 8)
    {
      status = pipe_status (tok (p, 7));
      if (status == NULL)
        return set_unknown_keyword (p, 7, error);
    }
  link->status = g_strdup (status);
  return TRUE;
}

/* [PUMPS] id node1 node2 (KEYWORD value)..., KEYWORD one of POWER, HEAD,
 * SPEED and PATTERN. */
static gboolean
parse_pump (Parser *p, GError **error)
{
  Link *link;
  g_autoptr(GString) parameters = NULL;

  if (!check_count (p, 3, error)
      || (link = add_link (p, LINK_PUMP, error)) == NULL)
    return FALSE;
  for (guint i = 3; i + 1 < n_tokens (p); i += 2)
    {
      double value;

      if (keyword_is (tok (p, i), "POWER"))
        {
          if (!get_number (p, i + 1, &link->power, error))
            return FALSE;
          link->has_power = TRUE;
        }
      else if (keyword_is (tok (p, i), "SPEED"))
        {
          if (!get_number (p, i + 1, &value, error))
            return FALSE;
        }
      else if (!keyword_is (tok (p, i), "HEAD") && !keyword_is (tok (p, i), "PATTERN"))
        return set_unknown_keyword (p, i, error);
    }
  parameters = g_string_new (NULL);
  for (guint i = 3; i < n_tokens (p); i++)
    {
      if (parameters->len > 0)
        g_string_append_c (parameters, ' ');
      g_string_append (parameters, tok (p, i));
    }
  link->parameters = g_utf8_normalize (parameters->str, -1, G_NORMALIZE_NFC);
  return TRUE;
}

/* [VALVES] id node1 node2 diameter type (setting) (minorloss) (curve) */
static gboolean
parse_valve (Parser *p, GError **error)
{
  static const char * const types[] = {
    "PRV", "PSV", "PBV", "FCV", "TCV", "GPV", "PCV",
  };
  Link *link;
  const char *type = NULL;

  if (!check_count (p, 5, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (keyword_is (tok (p, 4), types[i]))
      type = types[i];
  if (type == NULL)
    return set_unknown_keyword (p, 4, error);
  if ((link = add_link (p, LINK_VALVE, error)) == NULL
      || !get_number (p, 3, &link->diameter, error))
    return FALSE;
  link->status = g_strdup (type);
  if (n_tokens (p) > 5)
    {
      if (strcmp (type, "GPV") == 0)
        link->curve = dup_optional_id (tok (p, 5));
      else if (!get_number (p, 5, &link->setting, error))
        return FALSE;
      else
        link->has_setting = TRUE;
    }
  if (n_tokens (p) > 6 && !get_number (p, 6, &link->minor_loss, error))
    return FALSE;
  if (n_tokens (p) > 7 && strcmp (type, "PCV") == 0)
    link->curve = dup_optional_id (tok (p, 7));
  return TRUE;
}

/* [DEMANDS] junction demand (pattern) */
static gboolean
parse_demand (Parser *p, GError **error)
{
  Pending pending = { 0, };

  if (!check_count (p, 2, error)
      || !check_id (p, 0, error)
      || !get_number (p, 1, &pending.a, error))
    return FALSE;
  pending.id = dup_id (tok (p, 0));
  pending.line = p->line;
  pending.section = p->section->name;
  if (n_tokens (p) > 2)
    pending.pattern = dup_optional_id (tok (p, 2));
  g_array_append_val (p->demands, pending);
  return TRUE;
}

/* [COORDINATES] node x y and [VERTICES] link x y */
static gboolean
parse_point (Parser *p, GArray *into, GError **error)
{
  Pending pending = { 0, };

  if (!check_count (p, 3, error)
      || !get_number (p, 1, &pending.a, error)
      || !get_number (p, 2, &pending.b, error))
    return FALSE;
  pending.id = dup_id (tok (p, 0));
  pending.line = p->line;
  pending.section = p->section->name;
  g_array_append_val (into, pending);
  return TRUE;
}

static gboolean
parse_coordinate (Parser *p, GError **error)
{
  return parse_point (p, p->coordinates, error);
}

static gboolean
parse_vertex (Parser *p, GError **error)
{
  return parse_point (p, p->vertices, error);
}

/* [OPTIONS]: only what the units of the other sections depend on. */
static gboolean
parse_option (Parser *p, GError **error)
{
  const char *key = tok (p, 0);
  guint n = n_tokens (p);

  if (keyword_is (key, "UNITS") && n > 1)
    {
      for (guint i = 0; i < G_N_ELEMENTS (flow_units); i++)
        if (keyword_is (tok (p, 1), flow_units[i].name))
          {
            p->units = &flow_units[i];
            return TRUE;
          }
      return set_unknown_keyword (p, 1, error);
    }
  if (keyword_is (key, "HEADLOSS") && n > 1)
    {
      for (guint i = 0; i < G_N_ELEMENTS (headloss_names); i++)
        if (keyword_is (tok (p, 1), headloss_names[i]))
          {
            p->headloss = i;
            return TRUE;
          }
      return set_unknown_keyword (p, 1, error);
    }
  if (keyword_is (key, "PRESSURE") && n > 1 && !keyword_is (tok (p, 1), "EXPONENT"))
    {
      static const struct { const char *name; PressureUnits units; } names[] = {
        { "PSI", PRESSURE_PSI }, { "KPA", PRESSURE_KPA },
        { "METERS", PRESSURE_METERS }, { "BAR", PRESSURE_BAR },
        { "FEET", PRESSURE_FEET },
      };

      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        if (keyword_is (tok (p, 1), names[i].name))
          {
            p->pressure = names[i].units;
            return TRUE;
          }
      return set_unknown_keyword (p, 1, error);
    }
  if (keyword_is (key, "SPECIFIC") && n > 2)
    {
      double value;

      if (!get_number (p, n - 1, &value, error))
        return FALSE;
      if (value > 0.0)
        p->specific_gravity = value;
    }
  return TRUE;
}

/* EPANET matches section headings on their first four letters
 * ("[COORD]" is [COORDINATES]). */
static const Section sections[] = {
  { "TITLE", NULL },
  { "JUNCTIONS", parse_junction },
  { "RESERVOIRS", parse_reservoir },
  { "TANKS", parse_tank },
  { "PIPES", parse_pipe },
  { "PUMPS", parse_pump },
  { "VALVES", parse_valve },
  { "CONTROLS", NULL },
  { "RULES", NULL },
  { "DEMANDS", parse_demand },
  { "SOURCES", NULL },
  { "EMITTERS", NULL },
  { "PATTERNS", NULL },
  { "CURVES", NULL },
  { "QUALITY", NULL },
  { "STATUS", NULL },
  { "ROUGHNESS", NULL },
  { "ENERGY", NULL },
  { "REACTIONS", NULL },
  { "MIXING", NULL },
  { "REPORT", NULL },
  { "TIMES", NULL },
  { "OPTIONS", parse_option },
  { "COORDINATES", parse_coordinate },
  { "VERTICES", parse_vertex },
  { "LABELS", NULL },
  { "BACKDROP", NULL },
  { "TAGS", NULL },
  { "LEAKAGE", NULL },  /* EPANET 2.3 */
  { "END", NULL },
};

static const Section *
find_section (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (sections); i++)
    {
      gsize len = MIN (strlen (sections[i].name), 4);

      if (strlen (name) >= len && g_ascii_strncasecmp (name, sections[i].name, len) == 0)
        return &sections[i];
    }
  return NULL;
}

/* @heading is the first token of the line, starting with '['. */
static gboolean
enter_section (Parser *p, const char *heading, GError **error)
{
  g_autofree char *name = g_strdup (heading + 1);
  char *bracket = strchr (name, ']');

  if (bracket != NULL)
    *bracket = '\0';
  p->section = find_section (name);
  if (p->section != NULL)
    return TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (swmm_sections); i++)
    if (keyword_is (name, swmm_sections[i]))
      {
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                     /* Translators: file, line number, section (CONDUITS);
                        SWMM is the US EPA's storm water model, whose files
                        also end in .inp */
                     _("%s, line %u: section [%s] belongs to a SWMM model, not an EPANET one"),
                     p->display_name, p->line, name);
        return FALSE;
      }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: file, line number, section name */
               _("%s, line %u: unknown section [%s]"),
               p->display_name, p->line, name);
  return FALSE;
}

/* Reads every line of @text (valid UTF-8, NUL-terminated, modified in
 * place). */
static gboolean
parse_text (Parser *p, char *text, GError **error)
{
  gboolean seen_section = FALSE;
  char *next = text;

  p->line = 0;
  while (next != NULL)
    {
      char *line = next;
      char *end = strchr (line, '\n');
      char *comment;

      if (end != NULL)
        {
          *end = '\0';
          next = end + 1;
        }
      else
        next = NULL;
      p->line++;

      comment = strchr (line, ';');
      if (comment != NULL)
        *comment = '\0';

      if (p->title == NULL && p->section != NULL
          && strcmp (p->section->name, "TITLE") == 0)
        {
          g_autofree char *title = g_strstrip (g_strdup (line));

          if (*title != '\0' && *title != '[')
            {
              p->title = g_utf8_normalize (title, -1, G_NORMALIZE_NFC);
              continue;
            }
        }

      split_tokens (p, line);
      if (n_tokens (p) == 0)
        continue;
      if (*tok (p, 0) == '[')
        {
          if (!enter_section (p, tok (p, 0), error))
            return FALSE;
          seen_section = TRUE;
          if (strcmp (p->section->name, "END") == 0)
            break;
          continue;
        }
      /* Lines before the first heading are ignored, as by EPANET. */
      if (p->section != NULL && p->section->func != NULL
          && !p->section->func (p, error))
        return FALSE;
    }

  if (!seen_section)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: file name */
                   _("“%s” has no EPANET sections such as [JUNCTIONS] or [PIPES]"),
                   p->display_name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_missing_node (Parser *p, guint line, const char *section, const char *id,
                  GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: file, line number, section (PIPES), a node id */
               _("%s, line %u, section [%s]: node “%s” does not exist"),
               p->display_name, line, section, id);
  return FALSE;
}

/* Checks the links' end nodes and applies [DEMANDS], [COORDINATES] and
 * [VERTICES]. Coordinates of unknown nodes and vertices of unknown links
 * are ignored, as by EPANET: they take no part in the model. */
static gboolean
resolve (Parser *p, GError **error)
{
  for (guint k = 0; k < N_LINK_KINDS; k++)
    for (guint i = 0; i < p->links[k]->len; i++)
      {
        Link *link = g_ptr_array_index (p->links[k], i);

        if (!g_hash_table_contains (p->node_ids, link->node1))
          return set_missing_node (p, link->line, link->section, link->node1, error);
        if (!g_hash_table_contains (p->node_ids, link->node2))
          return set_missing_node (p, link->line, link->section, link->node2, error);
      }

  for (guint i = 0; i < p->demands->len; i++)
    {
      Pending *d = &g_array_index (p->demands, Pending, i);
      Node *node = g_hash_table_lookup (p->node_ids, d->id);

      if (node == NULL)
        return set_missing_node (p, d->line, d->section, d->id, error);
      /* Demands of tanks and reservoirs are ignored by EPANET. */
      if (node->kind != NODE_JUNCTION)
        continue;
      if (!node->has_demands)
        {
          /* The first entry replaces the [JUNCTIONS] demand and pattern. */
          node->has_demands = TRUE;
          g_free (node->pattern);
          node->pattern = g_strdup (d->pattern);
        }
      node->demands_sum += d->a;
    }

  for (guint i = 0; i < p->coordinates->len; i++)
    {
      Pending *c = &g_array_index (p->coordinates, Pending, i);
      Node *node = g_hash_table_lookup (p->node_ids, c->id);

      if (node == NULL)
        continue;
      node->has_xy = TRUE;
      node->x = c->a;
      node->y = c->b;
    }

  for (guint i = 0; i < p->vertices->len; i++)
    {
      Pending *v = &g_array_index (p->vertices, Pending, i);
      Link *link = g_hash_table_lookup (p->link_ids, v->id);

      if (link == NULL)
        continue;
      if (link->vertices == NULL)
        link->vertices = g_array_new (FALSE, FALSE, sizeof (double));
      g_array_append_val (link->vertices, v->a);
      g_array_append_val (link->vertices, v->b);
    }
  return TRUE;
}

/* Metres of water head in one unit of the file's pressure, following
 * EPANET's initunits(). */
static double
pressure_factor (const FlowUnits *units, PressureUnits pressure, double sg)
{
  if (units->us)
    return FT_TO_M / (PSI_PER_FT * sg);
  switch (pressure)
    {
    case PRESSURE_KPA:
      return FT_TO_M / (KPA_PER_PSI * PSI_PER_FT * sg);
    case PRESSURE_BAR:
      return 100.0 * FT_TO_M / (KPA_PER_PSI * PSI_PER_FT * sg);
    case PRESSURE_PSI:
      return FT_TO_M / (PSI_PER_FT * sg);
    case PRESSURE_FEET:
      return FT_TO_M / sg;
    case PRESSURE_DEFAULT:
    case PRESSURE_METERS:
    default:
      return 1.0 / sg;
    }
}

static double
pressure_to_m (Parser *p)
{
  return pressure_factor (p->units, p->pressure, p->specific_gravity);
}

typedef struct {
  const char   *name;
  OGRFieldType  type;
} FieldDef;

/* Field order matches the enums below. */
static const FieldDef junction_fields[] = {
  { "id", OFTString }, { "elevation_m", OFTReal }, { "demand_lps", OFTReal },
  { "pattern", OFTString }, { NULL, 0 },
};
enum { J_ID, J_ELEVATION, J_DEMAND, J_PATTERN };

static const FieldDef reservoir_fields[] = {
  { "id", OFTString }, { "head_m", OFTReal }, { "pattern", OFTString },
  { NULL, 0 },
};
enum { R_ID, R_HEAD, R_PATTERN };

static const FieldDef tank_fields[] = {
  { "id", OFTString }, { "elevation_m", OFTReal }, { "init_level_m", OFTReal },
  { "min_level_m", OFTReal }, { "max_level_m", OFTReal },
  { "diameter_m", OFTReal }, { "min_volume_m3", OFTReal },
  { "volume_curve", OFTString }, { NULL, 0 },
};
enum { T_ID, T_ELEVATION, T_INIT, T_MIN, T_MAX, T_DIAMETER, T_MIN_VOLUME, T_CURVE };

static const FieldDef pipe_fields[] = {
  { "id", OFTString }, { "node1", OFTString }, { "node2", OFTString },
  { "length_m", OFTReal }, { "diameter_mm", OFTReal }, { "roughness", OFTReal },
  { "minor_loss", OFTReal }, { "status", OFTString }, { NULL, 0 },
};
enum { P_ID, P_NODE1, P_NODE2, P_LENGTH, P_DIAMETER, P_ROUGHNESS, P_MINOR_LOSS, P_STATUS };

static const FieldDef pump_fields[] = {
  { "id", OFTString }, { "node1", OFTString }, { "node2", OFTString },
  { "parameters", OFTString }, { "power_kw", OFTReal }, { NULL, 0 },
};
enum { U_ID, U_NODE1, U_NODE2, U_PARAMETERS, U_POWER };

static const FieldDef valve_fields[] = {
  { "id", OFTString }, { "node1", OFTString }, { "node2", OFTString },
  { "diameter_mm", OFTReal }, { "type", OFTString }, { "setting", OFTReal },
  { "minor_loss", OFTReal }, { "curve", OFTString }, { NULL, 0 },
};
enum { V_ID, V_NODE1, V_NODE2, V_DIAMETER, V_TYPE, V_SETTING, V_MINOR_LOSS, V_CURVE };

/* Collects GDAL's messages during one operation (STYLE.md: errors). */
static void
collect_cpl_error_cb (CPLErr klass, CPLErrorNum num, const char *msg)
{
  GString *messages = CPLGetErrorHandlerUserData ();

  if (klass < CE_Failure || messages == NULL || msg == NULL)
    return;
  if (messages->len > 0)
    g_string_append (messages, "; ");
  g_string_append (messages, msg);
}

static OGRLayerH
create_layer (GDALDatasetH ds, const char *name, OGRwkbGeometryType type,
              const FieldDef *fields)
{
  OGRLayerH layer = GDALDatasetCreateLayer (ds, name, NULL, type, NULL);

  if (layer == NULL)
    return NULL;
  for (const FieldDef *f = fields; f->name != NULL; f++)
    {
      OGRFieldDefnH defn = OGR_Fld_Create (f->name, f->type);
      OGRErr err = OGR_L_CreateField (layer, defn, TRUE);

      OGR_Fld_Destroy (defn);
      if (err != OGRERR_NONE)
        return NULL;
    }
  return layer;
}

static void
set_string (OGRFeatureH feature, int field, const char *value)
{
  if (value != NULL)
    OGR_F_SetFieldString (feature, field, value);
  else
    OGR_F_SetFieldNull (feature, field);
}

static OGRGeometryH
node_point (const Node *node)
{
  OGRGeometryH point;

  if (!node->has_xy)
    return NULL;
  point = OGR_G_CreateGeometry (wkbPoint);
  OGR_G_SetPoint_2D (point, 0, node->x, node->y);
  return point;
}

static OGRGeometryH
link_line (Parser *p, const Link *link)
{
  const Node *n1 = g_hash_table_lookup (p->node_ids, link->node1);
  const Node *n2 = g_hash_table_lookup (p->node_ids, link->node2);
  OGRGeometryH line;
  int i = 0;

  if (n1 == NULL || n2 == NULL || !n1->has_xy || !n2->has_xy)
    return NULL;
  line = OGR_G_CreateGeometry (wkbLineString);
  OGR_G_SetPoint_2D (line, i++, n1->x, n1->y);
  if (link->vertices != NULL)
    for (guint v = 0; v + 1 < link->vertices->len; v += 2)
      OGR_G_SetPoint_2D (line, i++,
                         g_array_index (link->vertices, double, v),
                         g_array_index (link->vertices, double, v + 1));
  OGR_G_SetPoint_2D (line, i, n2->x, n2->y);
  return line;
}

/* Fills @f's fields from @node, in SI units. */
static void
fill_node (Parser *p, OGRFeatureH f, const Node *node)
{
  double len = p->units->us ? FT_TO_M : 1.0;

  switch (node->kind)
    {
    case NODE_JUNCTION:
      OGR_F_SetFieldString (f, J_ID, node->id);
      OGR_F_SetFieldDouble (f, J_ELEVATION, node->elevation * len);
      OGR_F_SetFieldDouble (f, J_DEMAND,
                            (node->has_demands ? node->demands_sum : node->demand)
                            * p->units->lps);
      set_string (f, J_PATTERN, node->pattern);
      break;

    case NODE_RESERVOIR:
      OGR_F_SetFieldString (f, R_ID, node->id);
      OGR_F_SetFieldDouble (f, R_HEAD, node->elevation * len);
      set_string (f, R_PATTERN, node->pattern);
      break;

    case NODE_TANK:
      OGR_F_SetFieldString (f, T_ID, node->id);
      OGR_F_SetFieldDouble (f, T_ELEVATION, node->elevation * len);
      OGR_F_SetFieldDouble (f, T_INIT, node->init_level * len);
      OGR_F_SetFieldDouble (f, T_MIN, node->min_level * len);
      OGR_F_SetFieldDouble (f, T_MAX, node->max_level * len);
      OGR_F_SetFieldDouble (f, T_DIAMETER, node->diameter * len);
      OGR_F_SetFieldDouble (f, T_MIN_VOLUME,
                            node->min_volume * (p->units->us ? FT3_TO_M3 : 1.0));
      set_string (f, T_CURVE, node->curve);
      break;

    case N_NODE_KINDS:
    default:
      g_assert_not_reached ();
    }
}

static void
fill_link (Parser *p, OGRFeatureH f, const Link *link)
{
  double len = p->units->us ? FT_TO_M : 1.0;
  double diam = p->units->us ? IN_TO_MM : 1.0;

  /* id, node1 and node2 come first in the three link layers. */
  OGR_F_SetFieldString (f, P_ID, link->id);
  OGR_F_SetFieldString (f, P_NODE1, link->node1);
  OGR_F_SetFieldString (f, P_NODE2, link->node2);

  switch (link->kind)
    {
    case LINK_PIPE:
      OGR_F_SetFieldDouble (f, P_LENGTH, link->length * len);
      OGR_F_SetFieldDouble (f, P_DIAMETER, link->diameter * diam);
      /* D-W roughness is in millifeet with US units, in mm with SI ones. */
      OGR_F_SetFieldDouble (f, P_ROUGHNESS,
                            link->roughness
                            * (p->headloss == HEADLOSS_DW ? len : 1.0));
      OGR_F_SetFieldDouble (f, P_MINOR_LOSS, link->minor_loss);
      OGR_F_SetFieldString (f, P_STATUS, link->status);
      break;

    case LINK_PUMP:
      set_string (f, U_PARAMETERS, link->parameters);
      /* POWER is in horsepower with US units, in kW with SI ones. */
      if (link->has_power)
        OGR_F_SetFieldDouble (f, U_POWER,
                              link->power * (p->units->us ? HP_TO_KW : 1.0));
      else
        OGR_F_SetFieldNull (f, U_POWER);
      break;

    case LINK_VALVE:
      OGR_F_SetFieldDouble (f, V_DIAMETER, link->diameter * diam);
      OGR_F_SetFieldString (f, V_TYPE, link->status);
      if (link->has_setting)
        {
          double factor = 1.0;

          if (strcmp (link->status, "PRV") == 0
              || strcmp (link->status, "PSV") == 0
              || strcmp (link->status, "PBV") == 0)
            factor = pressure_to_m (p);
          else if (strcmp (link->status, "FCV") == 0)
            factor = p->units->lps;
          OGR_F_SetFieldDouble (f, V_SETTING, link->setting * factor);
        }
      else
        OGR_F_SetFieldNull (f, V_SETTING);
      OGR_F_SetFieldDouble (f, V_MINOR_LOSS, link->minor_loss);
      set_string (f, V_CURVE, link->curve);
      break;

    case N_LINK_KINDS:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
write_features (Parser *p, GDALDatasetH ds)
{
  static const struct {
    const char          *name;
    OGRwkbGeometryType   type;
    const FieldDef      *fields;
    gboolean             is_link;
    guint                kind;
  } layers[] = {
    { "junctions", wkbPoint, junction_fields, FALSE, NODE_JUNCTION },
    { "reservoirs", wkbPoint, reservoir_fields, FALSE, NODE_RESERVOIR },
    { "tanks", wkbPoint, tank_fields, FALSE, NODE_TANK },
    { "pipes", wkbLineString, pipe_fields, TRUE, LINK_PIPE },
    { "pumps", wkbLineString, pump_fields, TRUE, LINK_PUMP },
    { "valves", wkbLineString, valve_fields, TRUE, LINK_VALVE },
  };

  for (guint l = 0; l < G_N_ELEMENTS (layers); l++)
    {
      OGRLayerH layer = create_layer (ds, layers[l].name, layers[l].type,
                                      layers[l].fields);
      GPtrArray *items;

      if (layer == NULL)
        return FALSE;
      items = layers[l].is_link ? p->links[layers[l].kind] : p->nodes[layers[l].kind];
      for (guint i = 0; i < items->len; i++)
        {
          g_auto(OGRFeatureH) feature = OGR_F_Create (OGR_L_GetLayerDefn (layer));
          gpointer item = g_ptr_array_index (items, i);
          OGRGeometryH geometry;

          if (layers[l].is_link)
            {
              fill_link (p, feature, item);
              geometry = link_line (p, item);
            }
          else
            {
              fill_node (p, feature, item);
              geometry = node_point (item);
            }
          if (geometry != NULL)
            OGR_F_SetGeometryDirectly (feature, geometry);
          if (OGR_L_CreateFeature (layer, feature) != OGRERR_NONE)
            return FALSE;
        }
    }

  GDALSetMetadataItem (ds, "EPANET_UNITS", p->units->name, NULL);
  GDALSetMetadataItem (ds, "EPANET_HEADLOSS", headloss_names[p->headloss], NULL);
  if (p->title != NULL)
    GDALSetMetadataItem (ds, "EPANET_TITLE", p->title, NULL);
  return TRUE;
}

static GDALDatasetH
create_dataset (Parser *p, GError **error)
{
  g_autoptr(GString) messages = g_string_new (NULL);
  g_auto(GDALDatasetH) ds = NULL;
  GDALDriverH driver;
  gboolean ok = FALSE;

  CPLPushErrorHandlerEx (collect_cpl_error_cb, messages);
  driver = GDALGetDriverByName ("Memory");
  /* GDAL 3.11 folded the vector "Memory" driver into "MEM". */
  if (driver == NULL)
    driver = GDALGetDriverByName ("MEM");
  if (driver != NULL)
    ds = GDALCreate (driver, "", 0, 0, 0, GDT_Unknown, NULL);
  if (ds != NULL)
    ok = write_features (p, ds);
  CPLPopErrorHandler ();

  if (!ok)
    {
      if (driver == NULL)
        g_string_assign (messages, "GDAL's Memory driver is not registered");
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: file name, then GDAL's own message */
                   _("Cannot create the in-memory layers for “%s”: %s"),
                   p->display_name, messages->str);
      return NULL;
    }
  return g_steal_pointer (&ds);
}

/* Checks or converts the file's bytes into NUL-terminated UTF-8 text. */
static char *
decode_text (Parser *p, char *data, gsize len, const char *encoding,
             gsize *text_len, GError **error)
{
  g_autofree char *text = NULL;
  const char *invalid = NULL;

  if (encoding == NULL
      || g_ascii_strcasecmp (encoding, "UTF-8") == 0
      || g_ascii_strcasecmp (encoding, "UTF8") == 0)
    {
      text = g_memdup2 (data, len + 1);
      *text_len = len;
    }
  else
    {
      g_autoptr(GError) local_error = NULL;

      text = g_convert (data, len, "UTF-8", encoding, NULL, text_len, &local_error);
      if (text == NULL)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: file, encoding (CP1258), then the
                          system's own message */
                       _("Cannot decode “%s” as %s: %s"),
                       p->display_name, encoding, local_error->message);
          return NULL;
        }
    }

  /* UTF-16 text and binary files have NUL bytes; text has none. */
  if (memchr (text, '\0', *text_len) != NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: file name */
                   _("“%s” is not a text file"), p->display_name);
      return NULL;
    }
  if (!g_utf8_validate (text, *text_len, &invalid))
    {
      guint line = 1;

      for (const char *c = text; c < invalid; c++)
        if (*c == '\n')
          line++;
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: file name, line number */
                   _("%s, line %u: the text is not valid UTF-8 (the file may use a legacy code page such as CP1258)"),
                   p->display_name, line);
      return NULL;
    }
  return g_steal_pointer (&text);
}

gboolean
dothi_epanet_probe (const char *path)
{
  g_autofree char *lower = NULL;
  g_autofree char *head = NULL;
  FILE *file;
  gsize n;

  g_return_val_if_fail (path != NULL, FALSE);

  lower = g_ascii_strdown (path, -1);
  if (g_str_has_suffix (lower, ".inp"))
    return TRUE;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  file = g_fopen (path, "rb");
  if (file == NULL)
    return FALSE;
  head = g_malloc (64 * 1024 + 1);
  n = fread (head, 1, 64 * 1024, file);
  fclose (file);
  head[n] = '\0';

  for (char *line = head; line != NULL; )
    {
      char *next = strchr (line, '\n');

      line += strspn (line, " \t\r\v\f\xef\xbb\xbf");
      if (g_ascii_strncasecmp (line, "[JUNCTIONS]", 11) == 0
          || g_ascii_strncasecmp (line, "[PIPES]", 7) == 0)
        return TRUE;
      line = next != NULL ? next + 1 : NULL;
    }
  return FALSE;
}

GDALDatasetH
dothi_epanet_open_with_encoding (const char  *path,
                                 const char  *encoding,
                                 GError     **error)
{
  g_autoptr(Parser) p = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *data = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  gsize text_len = 0;
  char *start;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  p = parser_new (path);
  if (!g_file_get_contents (path, &data, &len, &local_error))
    {
      g_set_error (error, DOTHI_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                   ? DOTHI_ERROR_NOT_FOUND : DOTHI_ERROR_FAILED,
                   /* Translators: file name, then the system's message */
                   _("Cannot read “%s”: %s"), p->display_name, local_error->message);
      return NULL;
    }

  text = decode_text (p, data, len, encoding, &text_len, error);
  if (text == NULL)
    return NULL;
  g_clear_pointer (&data, g_free);

  start = text;
  if (g_str_has_prefix (start, "\xef\xbb\xbf"))
    start += 3;
  if (!parse_text (p, start, error) || !resolve (p, error))
    return NULL;
  return create_dataset (p, error);
}

GDALDatasetH
dothi_epanet_open (const char *path, GError **error)
{
  return dothi_epanet_open_with_encoding (path, NULL, error);
}

/* ---- export ---------------------------------------------------------------- */

/* A link end this close (m) to a node is on it. */
#define SNAP_TOLERANCE 0.01

typedef enum {
  X_JUNCTIONS,
  X_RESERVOIRS,
  X_TANKS,
  X_PIPES,
  X_PUMPS,
  X_VALVES,
  N_X_LAYERS
} XLayer;

static const char * const x_layer_names[N_X_LAYERS] = {
  "junctions", "reservoirs", "tanks", "pipes", "pumps", "valves",
};

static const FieldDef * const x_layer_fields[N_X_LAYERS] = {
  junction_fields, reservoir_fields, tank_fields, pipe_fields, pump_fields, valve_fields,
};

#define X_MAX_FIELDS 10

typedef struct {
  double x, y;
} XPt;

/* A node or link as read from its layer, then as written. */
typedef struct _XItem XItem;
struct _XItem {
  XLayer    layer;
  gint64    fid;
  char     *text[X_MAX_FIELDS];  /* the fields in FieldDef order; NULL: NULL */
  gboolean  has_num[X_MAX_FIELDS];
  double    num[X_MAX_FIELDS];
  char     *id;                  /* as written */
  gboolean  has_xy;
  double    x, y;
  GArray   *pts;                 /* XPt: a link's geometry, or NULL */
  XItem    *node1;               /* a link's end nodes, as written */
  XItem    *node2;
  gboolean  split;               /* a link whose id another link has too */
  double    length;              /* pipes: length_m written */
};

typedef struct {
  char    *name;
  GPtrArray *lines;              /* char*, as in the file */
} XSection;

typedef struct {
  const char  *out_path;
  DothiStore  *store;
  char        *layer_names[N_X_LAYERS];   /* NULL: not exported */
  DothiLayerInfo *infos[N_X_LAYERS];
  GPtrArray   *items[N_X_LAYERS];         /* XItem* */
  GHashTable  *node_ids;                  /* id -> XItem* */
  GHashTable  *link_ids;                  /* id -> XItem* */
  GHashTable  *grid;                      /* "ix iy" -> GPtrArray of XItem* */
  GPtrArray   *new_nodes;                 /* XItem*: split points */
  guint        fresh;
  /* The source model, when readable. */
  char        *source;
  GHashTable  *sections;                  /* NAME -> XSection* */
  GPtrArray   *section_order;             /* XSection*, as in the file */
  const FlowUnits *units;
  PressureUnits pressure;
  double       sg;
  Headloss     headloss;
  char        *title;
} Export;

static void
x_item_free (XItem *item)
{
  for (guint i = 0; i < X_MAX_FIELDS; i++)
    g_free (item->text[i]);
  g_free (item->id);
  g_clear_pointer (&item->pts, g_array_unref);
  g_free (item);
}

static void
x_section_free (XSection *section)
{
  g_free (section->name);
  g_ptr_array_unref (section->lines);
  g_free (section);
}

static void
export_clear (Export *ex)
{
  for (guint l = 0; l < N_X_LAYERS; l++)
    {
      g_clear_pointer (&ex->layer_names[l], g_free);
      g_clear_pointer (&ex->infos[l], dothi_layer_info_free);
      g_clear_pointer (&ex->items[l], g_ptr_array_unref);
    }
  g_clear_pointer (&ex->node_ids, g_hash_table_unref);
  g_clear_pointer (&ex->link_ids, g_hash_table_unref);
  g_clear_pointer (&ex->grid, g_hash_table_unref);
  g_clear_pointer (&ex->new_nodes, g_ptr_array_unref);
  g_clear_pointer (&ex->source, g_free);
  g_clear_pointer (&ex->sections, g_hash_table_unref);
  g_clear_pointer (&ex->section_order, g_ptr_array_unref);
  g_clear_pointer (&ex->title, g_free);
  g_clear_object (&ex->store);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Export, export_clear)

static gboolean
is_link_layer (XLayer layer)
{
  return layer >= X_PIPES;
}

/* ---- reading the layers ---- */

typedef struct {
  Export              *ex;
  XLayer               layer;
  int                  map[X_MAX_FIELDS];   /* FieldDef index -> layer field index */
  const DothiLayerInfo *info;
} XRead;

static void
collect_points (OGRGeometryH g, GArray *pts)
{
  OGRwkbGeometryType type = wkbFlatten (OGR_G_GetGeometryType (g));

  if (type == wkbPoint || type == wkbLineString)
    for (int i = 0; i < OGR_G_GetPointCount (g); i++)
      {
        XPt p = { OGR_G_GetX (g, i), OGR_G_GetY (g, i) };

        /* Parts of a multi-line joined end to end: no repeated point. */
        if (pts->len > 0)
          {
            XPt last = g_array_index (pts, XPt, pts->len - 1);

            if (last.x == p.x && last.y == p.y)
              continue;
          }
        g_array_append_val (pts, p);
      }
  else
    for (int i = 0; i < OGR_G_GetGeometryCount (g); i++)
      collect_points (OGR_G_GetGeometryRef (g, i), pts);
}

static gboolean
read_item_cb (gint64             fid,
              const DothiValue  *values,
              const guint8      *wkb,
              gsize              wkb_len,
              gpointer           user_data,
              GError           **error)
{
  XRead *r = user_data;
  XItem *item = g_new0 (XItem, 1);
  const FieldDef *fields = x_layer_fields[r->layer];

  item->layer = r->layer;
  item->fid = fid;
  for (guint i = 0; fields[i].name != NULL; i++)
    {
      const DothiValue *v;
      const DothiField *field;

      if (r->map[i] < 0)
        continue;
      v = &values[r->map[i]];
      field = g_ptr_array_index (r->info->fields, r->map[i]);
      if (v->is_null)
        continue;
      switch (field->type)
        {
        case DOTHI_FIELD_INTEGER:
        case DOTHI_FIELD_BOOLEAN:
          item->text[i] = g_strdup_printf ("%" G_GINT64_FORMAT, v->v.i);
          item->num[i] = (double) v->v.i;
          item->has_num[i] = TRUE;
          break;
        case DOTHI_FIELD_REAL:
          {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];

            item->text[i] = g_strdup (g_ascii_formatd (buf, sizeof buf, "%.10g", v->v.d));
            item->num[i] = v->v.d;
            item->has_num[i] = TRUE;
          }
          break;
        case DOTHI_FIELD_BLOB:
          break;
        case DOTHI_FIELD_TEXT:
        case DOTHI_FIELD_DATE:
        case DOTHI_FIELD_DATETIME:
        default:
          item->text[i] = g_strstrip (g_utf8_normalize (v->v.s, -1, G_NORMALIZE_NFC));
          if (*item->text[i] == '\0')
            g_clear_pointer (&item->text[i], g_free);
          else if (fields[i].type == OFTReal)
            item->has_num[i] = parse_number (item->text[i], &item->num[i]);
          break;
        }
    }

  if (wkb != NULL)
    {
      g_auto(OGRGeometryH) g = NULL;

      if (OGR_G_CreateFromWkb (wkb, NULL, &g, (int) wkb_len) == OGRERR_NONE && g != NULL)
        {
          GArray *pts = g_array_new (FALSE, FALSE, sizeof (XPt));

          collect_points (g, pts);
          if (is_link_layer (r->layer) && pts->len >= 2)
            item->pts = g_steal_pointer (&pts);
          else if (!is_link_layer (r->layer) && pts->len >= 1)
            {
              item->has_xy = TRUE;
              item->x = g_array_index (pts, XPt, 0).x;
              item->y = g_array_index (pts, XPt, 0).y;
            }
          if (pts != NULL)
            g_array_unref (pts);
        }
    }
  g_ptr_array_add (r->ex->items[r->layer], item);
  return TRUE;
}

static gboolean
read_layers (Export *ex, const char * const *layers, const char *project_path, GError **error)
{
  gboolean any = FALSE;

  for (guint l = 0; l < N_X_LAYERS; l++)
    {
      const char *name = layers != NULL ? layers[l] : x_layer_names[l];
      XRead r = { ex, l, { 0 }, NULL };
      const FieldDef *fields = x_layer_fields[l];
      DothiLayerInfo *info;

      ex->items[l] = g_ptr_array_new_with_free_func ((GDestroyNotify) x_item_free);
      if (name == NULL || *name == '\0')
        continue;
      if (layers == NULL && !dothi_store_has_table (ex->store, name))
        continue;
      info = dothi_store_get_layer (ex->store, name, NULL);
      if (info == NULL)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                       /* Translators: layer name, project file */
                       _("Layer “%s” does not exist in “%s”"), name, project_path);
          return FALSE;
        }
      ex->infos[l] = info;
      ex->layer_names[l] = g_strdup (name);
      for (guint i = 0; fields[i].name != NULL; i++)
        r.map[i] = dothi_layer_info_find_field (info, fields[i].name);
      if (r.map[0] < 0)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: layer name; "id" is a field name */
                       _("Layer “%s” has no “id” field: it is not an EPANET layer"), name);
          return FALSE;
        }
      r.info = info;
      if (!dothi_store_read_features (ex->store, name, NULL, read_item_cb, &r, NULL, error))
        return FALSE;
      any = TRUE;
      if (ex->source == NULL && info->source != NULL
          && g_strcmp0 (info->driver, "EPANET") == 0)
        ex->source = g_strdup (info->source);
    }
  if (!any)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: project file; the names are layer names */
                   _("“%s” has no EPANET layers (junctions, reservoirs, tanks, pipes, pumps, valves)"),
                   project_path);
      return FALSE;
    }
  return TRUE;
}

/* ---- ids and topology ---- */

/* A fresh id not in @taken: "@prefix@fid", else "@prefix@fid_2"... */
static char *
fresh_id (GHashTable *taken, const char *prefix, gint64 fid)
{
  char *id = g_strdup_printf ("%s%" G_GINT64_FORMAT, prefix, fid);

  for (guint k = 2; g_hash_table_contains (taken, id); k++)
    {
      g_free (id);
      id = g_strdup_printf ("%s%" G_GINT64_FORMAT "_%u", prefix, fid, k);
    }
  return id;
}

static char *
grid_key (double x, double y)
{
  return g_strdup_printf ("%.0f %.0f", floor (x / SNAP_TOLERANCE), floor (y / SNAP_TOLERANCE));
}

static void
grid_add (Export *ex, XItem *node)
{
  char *key = grid_key (node->x, node->y);
  GPtrArray *cell = g_hash_table_lookup (ex->grid, key);

  if (cell == NULL)
    {
      cell = g_ptr_array_new ();
      g_hash_table_insert (ex->grid, key, cell);
    }
  else
    g_free (key);
  g_ptr_array_add (cell, node);
}

/* The nearest node within the tolerance of (@x, @y), or NULL. */
static XItem *
grid_find (Export *ex, double x, double y)
{
  double ix = floor (x / SNAP_TOLERANCE), iy = floor (y / SNAP_TOLERANCE);
  XItem *best = NULL;
  double best_d = SNAP_TOLERANCE;

  for (int dx = -1; dx <= 1; dx++)
    for (int dy = -1; dy <= 1; dy++)
      {
        g_autofree char *key = g_strdup_printf ("%.0f %.0f", ix + dx, iy + dy);
        GPtrArray *cell = g_hash_table_lookup (ex->grid, key);

        for (guint i = 0; cell != NULL && i < cell->len; i++)
          {
            XItem *node = g_ptr_array_index (cell, i);
            double d = hypot (node->x - x, node->y - y);

            if (d <= best_d)
              {
                best = node;
                best_d = d;
              }
          }
      }
  return best;
}

static void
assign_node_ids (Export *ex)
{
  static const char * const prefixes[] = { "J", "R", "T" };

  for (guint l = X_JUNCTIONS; l <= X_TANKS; l++)
    for (guint i = 0; i < ex->items[l]->len; i++)
      {
        XItem *node = g_ptr_array_index (ex->items[l], i);

        if (node->text[0] != NULL && !g_hash_table_contains (ex->node_ids, node->text[0]))
          node->id = g_strdup (node->text[0]);
        else
          node->id = fresh_id (ex->node_ids, prefixes[l - X_JUNCTIONS], node->fid);
        g_hash_table_insert (ex->node_ids, node->id, node);
        if (node->has_xy)
          grid_add (ex, node);
      }
}

static double
points_length (GArray *pts)
{
  double total = 0;

  for (guint i = 1; pts != NULL && i < pts->len; i++)
    {
      XPt a = g_array_index (pts, XPt, i - 1), b = g_array_index (pts, XPt, i);
      total += hypot (b.x - a.x, b.y - a.y);
    }
  return total;
}

/* Elevation of a node: junctions' and tanks' elevation, reservoirs' head
 * (all field 1). */
static gboolean
node_elevation (XItem *node, double *out)
{
  if (node == NULL || !node->has_num[1])
    return FALSE;
  *out = node->num[1];
  return TRUE;
}

/* A new junction at @p, a link end where no node is, on the link from
 * @a to @b (either may be NULL). */
static XItem *
new_junction (Export *ex, XPt p, XItem *a, XItem *b)
{
  XItem *node = g_new0 (XItem, 1);
  double ea, eb, elevation = 0;
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  node->layer = X_JUNCTIONS;
  node->fid = -1;
  node->id = fresh_id (ex->node_ids, "DT", ++ex->fresh);
  node->has_xy = TRUE;
  node->x = p.x;
  node->y = p.y;
  if (node_elevation (a, &ea) && node_elevation (b, &eb) && a->has_xy && b->has_xy)
    {
      double da = hypot (p.x - a->x, p.y - a->y), db = hypot (p.x - b->x, p.y - b->y);

      elevation = da + db > 0 ? ea + (eb - ea) * da / (da + db) : ea;
    }
  else if (node_elevation (a, &ea) || node_elevation (b, &ea))
    elevation = ea;
  node->num[J_ELEVATION] = elevation;
  node->has_num[J_ELEVATION] = TRUE;
  node->text[J_ELEVATION] = g_strdup (g_ascii_formatd (buf, sizeof buf, "%.4f", elevation));
  node->text[J_DEMAND] = g_strdup ("0");
  node->num[J_DEMAND] = 0;
  node->has_num[J_DEMAND] = TRUE;
  g_hash_table_insert (ex->node_ids, node->id, node);
  g_ptr_array_add (ex->new_nodes, node);
  grid_add (ex, node);
  return node;
}

static gboolean
resolve_links (Export *ex, GError **error)
{
  static const char * const prefixes[] = { "P", "PU", "V" };
  g_autoptr(GHashTable) groups = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                        (GDestroyNotify) g_ptr_array_unref);

  /* Ids: a split pipe's pieces share an id; the first keeps it. */
  for (guint l = X_PIPES; l < N_X_LAYERS; l++)
    for (guint i = 0; i < ex->items[l]->len; i++)
      {
        XItem *link = g_ptr_array_index (ex->items[l], i);
        GPtrArray *group;

        if (link->text[0] == NULL)
          continue;
        group = g_hash_table_lookup (groups, link->text[0]);
        if (group == NULL)
          {
            group = g_ptr_array_new ();
            g_hash_table_insert (groups, link->text[0], group);
          }
        g_ptr_array_add (group, link);
      }
  for (guint l = X_PIPES; l < N_X_LAYERS; l++)
    for (guint i = 0; i < ex->items[l]->len; i++)
      {
        XItem *link = g_ptr_array_index (ex->items[l], i);
        GPtrArray *group = link->text[0] ? g_hash_table_lookup (groups, link->text[0]) : NULL;

        if (group != NULL && g_ptr_array_index (group, 0) == link)
          {
            link->id = g_strdup (link->text[0]);
            g_hash_table_insert (ex->link_ids, link->id, link);
          }
        link->split = group != NULL && group->len > 1;
      }
  for (guint l = X_PIPES; l < N_X_LAYERS; l++)
    for (guint i = 0; i < ex->items[l]->len; i++)
      {
        XItem *link = g_ptr_array_index (ex->items[l], i);

        if (link->id != NULL)
          continue;
        if (link->text[0] != NULL)
          {
            /* A piece of a split pipe: its id, then "_2", "_3"... */
            link->id = g_strdup_printf ("%s_2", link->text[0]);
            for (guint k = 3; g_hash_table_contains (ex->link_ids, link->id); k++)
              {
                g_free (link->id);
                link->id = g_strdup_printf ("%s_%u", link->text[0], k);
              }
          }
        else
          link->id = fresh_id (ex->link_ids, prefixes[l - X_PIPES], link->fid);
        g_hash_table_insert (ex->link_ids, link->id, link);
      }

  /* End nodes. */
  for (guint l = X_PIPES; l < N_X_LAYERS; l++)
    for (guint i = 0; i < ex->items[l]->len; i++)
      {
        XItem *link = g_ptr_array_index (ex->items[l], i);
        XItem *stored1 = link->text[1] ? g_hash_table_lookup (ex->node_ids, link->text[1]) : NULL;
        XItem *stored2 = link->text[2] ? g_hash_table_lookup (ex->node_ids, link->text[2]) : NULL;
        XPt start, end;
        XItem *a, *b;

        if (link->pts == NULL)
          {
            if (stored1 == NULL || stored2 == NULL)
              {
                g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                             /* Translators: link id, layer name, node id */
                             _("“%s” of layer “%s” has no geometry and its node “%s” does not exist"),
                             link->id, ex->layer_names[l],
                             stored1 == NULL ? (link->text[1] ? link->text[1] : "")
                                             : (link->text[2] ? link->text[2] : ""));
                return FALSE;
              }
            link->node1 = stored1;
            link->node2 = stored2;
            continue;
          }
        start = g_array_index (link->pts, XPt, 0);
        end = g_array_index (link->pts, XPt, link->pts->len - 1);
        a = grid_find (ex, start.x, start.y);
        b = grid_find (ex, end.x, end.y);
        /* Drawn the other way round: the model keeps its direction. */
        if (a != NULL && b != NULL && a == stored2 && b == stored1 && a != b)
          {
            for (guint k = 0; k < link->pts->len / 2; k++)
              {
                XPt t = g_array_index (link->pts, XPt, k);

                g_array_index (link->pts, XPt, k)
                  = g_array_index (link->pts, XPt, link->pts->len - 1 - k);
                g_array_index (link->pts, XPt, link->pts->len - 1 - k) = t;
              }
            a = stored1;
            b = stored2;
          }
        /* An end off every node: the node the link names, unless the
         * link is a piece of a split one; else a new junction there. */
        if (a == NULL)
          a = !link->split && stored1 != NULL && stored1 != b
              ? stored1 : new_junction (ex, start, stored1, stored2);
        if (b == NULL)
          b = !link->split && stored2 != NULL && stored2 != a
              ? stored2 : new_junction (ex, end, stored1, stored2);
        link->node1 = a;
        link->node2 = b;
      }

  /* Pipe lengths: a split pipe's pieces share the length of record in
   * proportion to their drawn lengths, when they all still carry it. */
  for (guint i = 0; i < ex->items[X_PIPES]->len; i++)
    {
      XItem *pipe = g_ptr_array_index (ex->items[X_PIPES], i);
      GPtrArray *group = pipe->text[0] ? g_hash_table_lookup (groups, pipe->text[0]) : NULL;
      double drawn = points_length (pipe->pts);

      pipe->length = pipe->has_num[P_LENGTH] ? pipe->num[P_LENGTH] : MAX (drawn, 0.01);
      if (pipe->split && pipe->has_num[P_LENGTH] && drawn > 0)
        {
          gboolean same = TRUE;
          double total = 0;

          for (guint k = 0; k < group->len; k++)
            {
              XItem *piece = g_ptr_array_index (group, k);

              same &= piece->has_num[P_LENGTH]
                      && fabs (piece->num[P_LENGTH] - pipe->num[P_LENGTH])
                         <= 1e-9 * MAX (1.0, pipe->num[P_LENGTH]);
              total += points_length (piece->pts);
            }
          if (same && total > 0)
            pipe->length = pipe->num[P_LENGTH] * drawn / total;
        }
    }
  return TRUE;
}

/* ---- the source model's other sections ---- */

static void
read_source (Export *ex)
{
  g_autofree char *data = NULL;
  g_autofree char *text = NULL;
  const DothiLayerInfo *info = NULL;
  XSection *section = NULL;
  gsize len;
  char **lines;

  if (ex->source == NULL || !g_file_get_contents (ex->source, &data, &len, NULL))
    return;
  for (guint l = 0; l < N_X_LAYERS && info == NULL; l++)
    info = ex->infos[l];
  if (info != NULL && info->encoding != NULL
      && g_ascii_strcasecmp (info->encoding, "UTF-8") != 0)
    text = g_convert (data, len, "UTF-8", info->encoding, NULL, NULL, NULL);
  else if (g_utf8_validate (data, len, NULL))
    text = g_strndup (data, len);
  if (text == NULL)
    return;

  ex->sections = g_hash_table_new (g_str_hash, g_str_equal);
  ex->section_order = g_ptr_array_new_with_free_func ((GDestroyNotify) x_section_free);
  lines = g_strsplit (g_str_has_prefix (text, "\xef\xbb\xbf") ? text + 3 : text, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    {
      char *l = g_strchomp (*line);
      const char *head = l + strspn (l, " \t");

      if (*head == '[')
        {
          g_autofree char *name = g_strdup (head + 1);
          const Section *known;
          char *bracket = strchr (name, ']');

          if (bracket != NULL)
            *bracket = '\0';
          known = find_section (name);
          section = NULL;
          if (known == NULL)
            continue;
          section = g_hash_table_lookup (ex->sections, known->name);
          if (section == NULL)
            {
              section = g_new0 (XSection, 1);
              section->name = g_strdup (known->name);
              section->lines = g_ptr_array_new_with_free_func (g_free);
              g_ptr_array_add (ex->section_order, section);
              g_hash_table_insert (ex->sections, section->name, section);
            }
          continue;
        }
      if (section != NULL)
        g_ptr_array_add (section->lines, g_utf8_normalize (l, -1, G_NORMALIZE_NFC));
    }
  g_strfreev (lines);
}

/* The tokens of a line without its comment. */
static char **
line_tokens (const char *line)
{
  g_autofree char *copy = g_strdup (line);
  char *comment = strchr (copy, ';');
  char **tokens;
  GPtrArray *out = g_ptr_array_new ();

  if (comment != NULL)
    *comment = '\0';
  tokens = g_strsplit_set (copy, " \t\r", -1);
  for (char **t = tokens; *t != NULL; t++)
    if (**t != '\0')
      g_ptr_array_add (out, g_strdup (*t));
  g_strfreev (tokens);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static void
read_source_options (Export *ex)
{
  XSection *options = ex->sections ? g_hash_table_lookup (ex->sections, "OPTIONS") : NULL;
  XSection *title = ex->sections ? g_hash_table_lookup (ex->sections, "TITLE") : NULL;

  ex->units = &flow_units[1];
  ex->pressure = PRESSURE_DEFAULT;
  ex->sg = 1.0;
  ex->headloss = HEADLOSS_HW;
  for (guint i = 0; title != NULL && i < title->lines->len && ex->title == NULL; i++)
    {
      g_autofree char *t = g_strstrip (g_strdup (g_ptr_array_index (title->lines, i)));

      if (*t != '\0' && *t != ';')
        ex->title = g_steal_pointer (&t);
    }
  for (guint i = 0; options != NULL && i < options->lines->len; i++)
    {
      const char *line = g_ptr_array_index (options->lines, i);
      g_auto(GStrv) t = line_tokens (line);
      guint n = g_strv_length (t);

      if (n < 2)
        continue;
      if (keyword_is (t[0], "UNITS"))
        {
          for (guint k = 0; k < G_N_ELEMENTS (flow_units); k++)
            if (keyword_is (t[1], flow_units[k].name))
              ex->units = &flow_units[k];
        }
      else if (keyword_is (t[0], "HEADLOSS"))
        {
          for (guint k = 0; k < G_N_ELEMENTS (headloss_names); k++)
            if (keyword_is (t[1], headloss_names[k]))
              ex->headloss = k;
        }
      else if (keyword_is (t[0], "PRESSURE") && !keyword_is (t[1], "EXPONENT"))
        {
          static const struct { const char *name; PressureUnits units; } names[] = {
            { "PSI", PRESSURE_PSI }, { "KPA", PRESSURE_KPA },
            { "METERS", PRESSURE_METERS }, { "BAR", PRESSURE_BAR },
            { "FEET", PRESSURE_FEET },
          };

          for (guint k = 0; k < G_N_ELEMENTS (names); k++)
            if (keyword_is (t[1], names[k].name))
              ex->pressure = names[k].units;
        }
      else if (keyword_is (t[0], "SPECIFIC") && n > 2)
        {
          double v;

          if (parse_number (t[n - 1], &v) && v > 0)
            ex->sg = v;
        }
    }
}

/* Factors from the source's units to the export's (LPS, metres; pressure
 * in metres of water at the model's specific gravity). */
static double
src_length (Export *ex)
{
  return ex->units->us ? FT_TO_M : 1.0;
}

static double
src_pressure (Export *ex)
{
  return pressure_factor (ex->units, ex->pressure, ex->sg) * ex->sg;
}

static gboolean
source_is_si (Export *ex)
{
  return ex->units == &flow_units[5]  /* LPS */
         && fabs (src_pressure (ex) - 1.0) < 1e-12;
}

/* ---- writing ---- */

static void
append_number (GString *out, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.10g", value));
}

/* An id as EPANET reads it: quoted when it has blanks or a ';'. */
static void
append_id (GString *out, const char *id)
{
  if (id == NULL || *id == '\0')
    g_string_append (out, "\"\"");
  else if (strpbrk (id, " \t;") != NULL)
    g_string_append_printf (out, "\"%s\"", id);
  else
    g_string_append (out, id);
}

static void
append_field (GString *out, const char *text)
{
  g_string_append_c (out, '\t');
  if (text != NULL)
    append_id (out, text);
}

static void
append_value (GString *out, const XItem *item, guint field, double fallback)
{
  g_string_append_c (out, '\t');
  append_number (out, item->has_num[field] ? item->num[field] : fallback);
}

/* A token converted by @factor; copied as it is when not a number. */
static void
append_scaled (GString *out, const char *token, double factor)
{
  double v;

  if (factor != 1.0 && parse_number (token, &v))
    append_number (out, v * factor);
  else
    g_string_append (out, token);
}

static void
write_nodes (Export *ex, GString *out)
{
  g_string_append (out, "\n[JUNCTIONS]\n;ID\tElev\tDemand\tPattern\n");
  for (guint pass = 0; pass < 2; pass++)
    {
      GPtrArray *nodes = pass == 0 ? ex->items[X_JUNCTIONS] : ex->new_nodes;

      for (guint i = 0; i < nodes->len; i++)
        {
          XItem *j = g_ptr_array_index (nodes, i);

          g_string_append_c (out, ' ');
          append_id (out, j->id);
          append_value (out, j, J_ELEVATION, 0);
          append_value (out, j, J_DEMAND, 0);
          append_field (out, j->text[J_PATTERN]);
          g_string_append (out, "\t;\n");
        }
    }

  g_string_append (out, "\n[RESERVOIRS]\n;ID\tHead\tPattern\n");
  for (guint i = 0; i < ex->items[X_RESERVOIRS]->len; i++)
    {
      XItem *r = g_ptr_array_index (ex->items[X_RESERVOIRS], i);

      g_string_append_c (out, ' ');
      append_id (out, r->id);
      append_value (out, r, R_HEAD, 0);
      append_field (out, r->text[R_PATTERN]);
      g_string_append (out, "\t;\n");
    }

  g_string_append (out, "\n[TANKS]\n;ID\tElevation\tInitLevel\tMinLevel\tMaxLevel\tDiameter\tMinVol\tVolCurve\n");
  for (guint i = 0; i < ex->items[X_TANKS]->len; i++)
    {
      XItem *t = g_ptr_array_index (ex->items[X_TANKS], i);

      g_string_append_c (out, ' ');
      append_id (out, t->id);
      for (guint f = T_ELEVATION; f <= T_MIN_VOLUME; f++)
        append_value (out, t, f, 0);
      if (t->text[T_CURVE] != NULL)
        append_field (out, t->text[T_CURVE]);
      g_string_append (out, "\t;\n");
    }
}

static void
append_link_start (GString *out, const XItem *link)
{
  g_string_append_c (out, ' ');
  append_id (out, link->id);
  g_string_append_c (out, '\t');
  append_id (out, link->node1->id);
  g_string_append_c (out, '\t');
  append_id (out, link->node2->id);
}

static void
write_links (Export *ex, GString *out)
{
  g_string_append (out, "\n[PIPES]\n;ID\tNode1\tNode2\tLength\tDiameter\tRoughness\tMinorLoss\tStatus\n");
  for (guint i = 0; i < ex->items[X_PIPES]->len; i++)
    {
      XItem *p = g_ptr_array_index (ex->items[X_PIPES], i);
      const char *status = p->text[P_STATUS];

      append_link_start (out, p);
      g_string_append_c (out, '\t');
      append_number (out, p->length);
      append_value (out, p, P_DIAMETER, 100);
      append_value (out, p, P_ROUGHNESS, ex->headloss == HEADLOSS_HW ? 100 : 0.1);
      append_value (out, p, P_MINOR_LOSS, 0);
      g_string_append_c (out, '\t');
      if (status != NULL && (keyword_is (status, "CLOSED") || keyword_is (status, "CV")))
        g_string_append (out, keyword_is (status, "CV") ? "CV" : "Closed");
      else
        g_string_append (out, "Open");
      g_string_append (out, "\t;\n");
    }

  g_string_append (out, "\n[PUMPS]\n;ID\tNode1\tNode2\tParameters\n");
  for (guint i = 0; i < ex->items[X_PUMPS]->len; i++)
    {
      XItem *p = g_ptr_array_index (ex->items[X_PUMPS], i);
      g_auto(GStrv) t = line_tokens (p->text[U_PARAMETERS] ? p->text[U_PARAMETERS] : "");
      gboolean has_power = FALSE;

      append_link_start (out, p);
      /* POWER was converted to kW on import: the field is written back. */
      for (guint k = 0; t[k] != NULL; k++)
        {
          g_string_append_c (out, '\t');
          if (keyword_is (t[k], "POWER") && t[k + 1] != NULL && p->has_num[U_POWER])
            {
              g_string_append (out, "POWER\t");
              append_number (out, p->num[U_POWER]);
              has_power = TRUE;
              k++;
            }
          else
            g_string_append (out, t[k]);
        }
      if (!has_power && p->has_num[U_POWER])
        {
          g_string_append (out, "\tPOWER\t");
          append_number (out, p->num[U_POWER]);
        }
      g_string_append (out, "\t;\n");
    }

  g_string_append (out, "\n[VALVES]\n;ID\tNode1\tNode2\tDiameter\tType\tSetting\tMinorLoss\n");
  for (guint i = 0; i < ex->items[X_VALVES]->len; i++)
    {
      XItem *v = g_ptr_array_index (ex->items[X_VALVES], i);
      const char *type = v->text[V_TYPE] ? v->text[V_TYPE] : "TCV";
      double setting = v->has_num[V_SETTING] ? v->num[V_SETTING] : 0;

      append_link_start (out, v);
      append_value (out, v, V_DIAMETER, 100);
      g_string_append_c (out, '\t');
      g_string_append (out, type);
      g_string_append_c (out, '\t');
      if (keyword_is (type, "GPV"))
        append_id (out, v->text[V_CURVE]);
      else
        {
          /* Heads back to pressure in metres at the model's gravity. */
          if (keyword_is (type, "PRV") || keyword_is (type, "PSV") || keyword_is (type, "PBV"))
            setting *= ex->sg;
          append_number (out, setting);
        }
      append_value (out, v, V_MINOR_LOSS, 0);
      if (keyword_is (type, "PCV") && v->text[V_CURVE] != NULL)
        append_field (out, v->text[V_CURVE]);
      g_string_append (out, "\t;\n");
    }
}

static void
write_geometry (Export *ex, GString *out)
{
  g_string_append (out, "\n[COORDINATES]\n;Node\tX-Coord\tY-Coord\n");
  for (guint l = X_JUNCTIONS; l <= X_TANKS + 1; l++)
    {
      GPtrArray *nodes = l <= X_TANKS ? ex->items[l] : ex->new_nodes;

      for (guint i = 0; i < nodes->len; i++)
        {
          XItem *n = g_ptr_array_index (nodes, i);
          char buf[G_ASCII_DTOSTR_BUF_SIZE];

          if (!n->has_xy)
            continue;
          g_string_append_c (out, ' ');
          append_id (out, n->id);
          g_string_append_printf (out, "\t%s", g_ascii_formatd (buf, sizeof buf, "%.4f", n->x));
          g_string_append_printf (out, "\t%s\n", g_ascii_formatd (buf, sizeof buf, "%.4f", n->y));
        }
    }
  g_string_append (out, "\n[VERTICES]\n;Link\tX-Coord\tY-Coord\n");
  for (guint l = X_PIPES; l < N_X_LAYERS; l++)
    for (guint i = 0; i < ex->items[l]->len; i++)
      {
        XItem *link = g_ptr_array_index (ex->items[l], i);

        for (guint k = 1; link->pts != NULL && k + 1 < link->pts->len; k++)
          {
            XPt p = g_array_index (link->pts, XPt, k);
            char buf[G_ASCII_DTOSTR_BUF_SIZE];

            g_string_append_c (out, ' ');
            append_id (out, link->id);
            g_string_append_printf (out, "\t%s", g_ascii_formatd (buf, sizeof buf, "%.4f", p.x));
            g_string_append_printf (out, "\t%s\n", g_ascii_formatd (buf, sizeof buf, "%.4f", p.y));
          }
      }
}

typedef enum {
  CURVE_OTHER,
  CURVE_HEAD,      /* flow, head */
  CURVE_EFFIC,     /* flow, % */
  CURVE_VOLUME,    /* height, volume */
} CurveUse;

static void
mark_curve (GHashTable *uses, const char *id, CurveUse use)
{
  if (id != NULL && !g_hash_table_contains (uses, id))
    g_hash_table_insert (uses, g_strdup (id), GINT_TO_POINTER (use));
}

static void
write_curves (Export *ex, GString *out, XSection *curves)
{
  g_autoptr(GHashTable) uses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  XSection *energy = g_hash_table_lookup (ex->sections, "ENERGY");
  double len = src_length (ex), flow = ex->units->lps;

  for (guint i = 0; i < ex->items[X_PUMPS]->len; i++)
    {
      XItem *p = g_ptr_array_index (ex->items[X_PUMPS], i);
      g_auto(GStrv) t = line_tokens (p->text[U_PARAMETERS] ? p->text[U_PARAMETERS] : "");

      for (guint k = 0; t[k] != NULL && t[k + 1] != NULL; k++)
        if (keyword_is (t[k], "HEAD"))
          mark_curve (uses, t[k + 1], CURVE_HEAD);
    }
  for (guint i = 0; i < ex->items[X_VALVES]->len; i++)
    {
      XItem *v = g_ptr_array_index (ex->items[X_VALVES], i);

      if (v->text[V_TYPE] != NULL && keyword_is (v->text[V_TYPE], "GPV"))
        mark_curve (uses, v->text[V_CURVE], CURVE_HEAD);
    }
  for (guint i = 0; i < ex->items[X_TANKS]->len; i++)
    {
      XItem *t = g_ptr_array_index (ex->items[X_TANKS], i);

      mark_curve (uses, t->text[T_CURVE], CURVE_VOLUME);
    }
  for (guint i = 0; energy != NULL && i < energy->lines->len; i++)
    {
      g_auto(GStrv) t = line_tokens (g_ptr_array_index (energy->lines, i));

      if (g_strv_length (t) >= 4 && keyword_is (t[0], "PUMP") && keyword_is (t[2], "EFFIC"))
        mark_curve (uses, t[3], CURVE_EFFIC);
      if (g_strv_length (t) >= 3 && keyword_is (t[0], "GLOBAL") && keyword_is (t[1], "EFFIC")
          && !parse_number (t[2], &(double){ 0 }))
        mark_curve (uses, t[2], CURVE_EFFIC);
    }

  g_string_append (out, "\n[CURVES]\n");
  for (guint i = 0; i < curves->lines->len; i++)
    {
      const char *line = g_ptr_array_index (curves->lines, i);
      g_auto(GStrv) t = line_tokens (line);
      CurveUse use;
      double fx = 1, fy = 1;

      if (g_strv_length (t) < 3)
        {
          /* Comments such as ";PUMP: ..." tell EPANET's editor the type. */
          if (strchr (line, ';') != NULL)
            g_string_append_printf (out, "%s\n", line);
          continue;
        }
      use = GPOINTER_TO_INT (g_hash_table_lookup (uses, t[0]));
      if (use == CURVE_HEAD)
        fx = flow, fy = len;
      else if (use == CURVE_EFFIC)
        fx = flow;
      else if (use == CURVE_VOLUME)
        fx = len, fy = ex->units->us ? FT3_TO_M3 : 1.0;
      g_string_append_c (out, ' ');
      g_string_append (out, t[0]);
      g_string_append_c (out, '\t');
      append_scaled (out, t[1], fx);
      g_string_append_c (out, '\t');
      append_scaled (out, t[2], fy);
      g_string_append_c (out, '\n');
    }
}

/* A link's setting (pump speed, valve setting) from the source's units. */
static double
setting_factor (Export *ex, const char *link_id)
{
  XItem *link = g_hash_table_lookup (ex->link_ids, link_id);
  const char *type;

  if (link == NULL || link->layer != X_VALVES || link->text[V_TYPE] == NULL)
    return 1.0;
  type = link->text[V_TYPE];
  if (keyword_is (type, "PRV") || keyword_is (type, "PSV") || keyword_is (type, "PBV"))
    return src_pressure (ex);
  if (keyword_is (type, "FCV"))
    return ex->units->lps;
  return 1.0;
}

/* LINK id status|setting [IF NODE id ABOVE|BELOW value | AT ...] */
static void
write_controls (Export *ex, GString *out, XSection *controls)
{
  g_string_append (out, "\n[CONTROLS]\n");
  for (guint i = 0; i < controls->lines->len; i++)
    {
      g_auto(GStrv) t = line_tokens (g_ptr_array_index (controls->lines, i));
      guint n = g_strv_length (t);

      if (n == 0)
        continue;
      g_string_append_c (out, ' ');
      for (guint k = 0; k < n; k++)
        {
          double factor = 1.0;

          if (k > 0)
            g_string_append_c (out, ' ');
          if (k == 2 && keyword_is (t[0], "LINK"))
            factor = setting_factor (ex, t[1]);
          else if (k == 7 && keyword_is (t[3], "IF") && keyword_is (t[4], "NODE"))
            {
              XItem *node = g_hash_table_lookup (ex->node_ids, t[5]);

              factor = node != NULL && node->layer == X_TANKS ? src_length (ex) : src_pressure (ex);
            }
          append_scaled (out, t[k], factor);
        }
      g_string_append_c (out, '\n');
    }
}

/* [STATUS] id OPEN|CLOSED|setting */
static void
write_status (Export *ex, GString *out, XSection *status)
{
  g_string_append (out, "\n[STATUS]\n");
  for (guint i = 0; i < status->lines->len; i++)
    {
      g_auto(GStrv) t = line_tokens (g_ptr_array_index (status->lines, i));

      if (g_strv_length (t) < 2)
        continue;
      g_string_append_printf (out, " %s\t", t[0]);
      append_scaled (out, t[1], setting_factor (ex, t[0]));
      g_string_append_c (out, '\n');
    }
}

/* Wall reaction coefficients are per length (first order) or per area
 * (zero order). */
static void
write_reactions (Export *ex, GString *out, XSection *reactions)
{
  double wall_order = 1, len = src_length (ex);

  for (guint i = 0; i < reactions->lines->len; i++)
    {
      g_auto(GStrv) t = line_tokens (g_ptr_array_index (reactions->lines, i));

      if (g_strv_length (t) >= 3 && keyword_is (t[0], "ORDER") && keyword_is (t[1], "WALL"))
        parse_number (t[2], &wall_order);
    }
  g_string_append (out, "\n[REACTIONS]\n");
  for (guint i = 0; i < reactions->lines->len; i++)
    {
      const char *line = g_ptr_array_index (reactions->lines, i);
      g_auto(GStrv) t = line_tokens (line);
      guint n = g_strv_length (t);
      double factor = wall_order == 0 ? 1.0 / (len * len) : len;

      if (n == 0)
        continue;
      if ((n == 3 && keyword_is (t[0], "GLOBAL") && keyword_is (t[1], "WALL"))
          || (n == 3 && keyword_is (t[0], "WALL")))
        {
          g_string_append_printf (out, " %s\t%s\t", t[0], t[1]);
          append_scaled (out, t[2], factor);
          g_string_append_c (out, '\n');
        }
      else
        g_string_append_printf (out, "%s\n", line);
    }
}

static void
write_options (Export *ex, GString *out)
{
  XSection *options = ex->sections ? g_hash_table_lookup (ex->sections, "OPTIONS") : NULL;

  g_string_append (out, "\n[OPTIONS]\n Units\tLPS\n Headloss\t");
  g_string_append (out, headloss_names[ex->headloss]);
  g_string_append_c (out, '\n');
  for (guint i = 0; options != NULL && i < options->lines->len; i++)
    {
      const char *line = g_ptr_array_index (options->lines, i);
      g_auto(GStrv) t = line_tokens (line);
      guint n = g_strv_length (t);

      if (n == 0 || keyword_is (t[0], "UNITS") || keyword_is (t[0], "HEADLOSS")
          || keyword_is (t[0], "HYDRAULICS") || keyword_is (t[0], "MAP")
          || (keyword_is (t[0], "PRESSURE") && n > 1 && !keyword_is (t[1], "EXPONENT")))
        continue;
      if ((keyword_is (t[0], "MINIMUM") || keyword_is (t[0], "REQUIRED")) && n == 3)
        {
          g_string_append_printf (out, " %s %s\t", t[0], t[1]);
          append_scaled (out, t[2], src_pressure (ex));
        }
      else if (keyword_is (t[0], "HEADERROR") && n == 2)
        {
          g_string_append_printf (out, " %s\t", t[0]);
          append_scaled (out, t[1], src_length (ex));
        }
      else if (keyword_is (t[0], "FLOWCHANGE") && n == 2)
        {
          g_string_append_printf (out, " %s\t", t[0]);
          append_scaled (out, t[1], ex->units->lps);
        }
      else
        g_string_append (out, line);
      g_string_append_c (out, '\n');
    }
}

static void
write_other_sections (Export *ex, GString *out)
{
  static const char * const verbatim[] = {
    "PATTERNS", "TIMES", "ENERGY", "QUALITY", "SOURCES", "MIXING", "REPORT", "LABELS",
    NULL,
  };
  static const char * const si_only[] = { "RULES", "EMITTERS", "LEAKAGE", NULL };
  GPtrArray *dropped = g_ptr_array_new ();

  if (ex->section_order == NULL)
    {
      g_string_append (out, "\n; The patterns, curves and controls were not found: the layers'\n"
                            "; source .inp is gone. Add them before running EPANET.\n");
      g_ptr_array_unref (dropped);
      return;
    }
  for (guint i = 0; i < ex->section_order->len; i++)
    {
      XSection *s = g_ptr_array_index (ex->section_order, i);

      if (strcmp (s->name, "CURVES") == 0)
        write_curves (ex, out, s);
      else if (strcmp (s->name, "CONTROLS") == 0)
        write_controls (ex, out, s);
      else if (strcmp (s->name, "STATUS") == 0)
        write_status (ex, out, s);
      else if (strcmp (s->name, "REACTIONS") == 0)
        write_reactions (ex, out, s);
      else if (g_strv_contains (verbatim, s->name)
               || (g_strv_contains (si_only, s->name) && source_is_si (ex)))
        {
          g_string_append_printf (out, "\n[%s]\n", s->name);
          for (guint k = 0; k < s->lines->len; k++)
            {
              const char *line = g_ptr_array_index (s->lines, k);

              if (*line != '\0')
                g_string_append_printf (out, "%s\n", line);
            }
        }
      else if (g_strv_contains (si_only, s->name))
        {
          for (guint k = 0; k < s->lines->len; k++)
            {
              g_auto(GStrv) t = line_tokens (g_ptr_array_index (s->lines, k));

              if (t[0] != NULL)
                {
                  g_ptr_array_add (dropped, s->name);
                  break;
                }
            }
        }
    }
  for (guint i = 0; i < dropped->len; i++)
    g_string_append_printf (out, "\n; [%s] of the source model left out: its values are in %s units.\n",
                            (const char *) g_ptr_array_index (dropped, i), ex->units->name);
  g_ptr_array_unref (dropped);
}

gboolean
dothi_epanet_export (const char         *project_path,
                     const char * const *layers,
                     const char         *out_path,
                     GError            **error)
{
  g_auto(Export) ex = { 0 };
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) local_error = NULL;
  DothiSpatialiteStore *store;

  g_return_val_if_fail (project_path != NULL, FALSE);
  g_return_val_if_fail (out_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  ex.out_path = out_path;
  store = dothi_spatialite_store_open (project_path, DOTHI_STORE_OPEN_READ_ONLY, error);
  if (store == NULL)
    return FALSE;
  ex.store = DOTHI_STORE (store);
  ex.node_ids = g_hash_table_new (g_str_hash, g_str_equal);
  ex.link_ids = g_hash_table_new (g_str_hash, g_str_equal);
  ex.grid = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) g_ptr_array_unref);
  ex.new_nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) x_item_free);
  if (!read_layers (&ex, layers, project_path, error))
    return FALSE;
  read_source (&ex);
  read_source_options (&ex);
  assign_node_ids (&ex);
  if (!resolve_links (&ex, error))
    return FALSE;

  g_string_append (out, "[TITLE]\n");
  g_string_append (out, ex.title != NULL ? ex.title : "Dothi");
  g_string_append (out, "\n");
  write_nodes (&ex, out);
  write_links (&ex, out);
  write_other_sections (&ex, out);
  write_options (&ex, out);
  write_geometry (&ex, out);
  g_string_append (out, "\n[END]\n");

  if (!g_file_set_contents_full (out_path, out->str, out->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0666, &local_error))
    {
      g_set_error (error, DOTHI_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                   ? DOTHI_ERROR_NOT_FOUND : DOTHI_ERROR_FAILED,
                   /* Translators: file name, then the reason */
                   _("Cannot write “%s”: %s"), out_path, local_error->message);
      return FALSE;
    }
  return TRUE;
}
