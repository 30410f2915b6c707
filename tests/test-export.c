#include "test-util.h"
int main (int argc, char **argv) { dothi_test_init (&argc, &argv); return g_test_run (); }
