/* noentry_module.c - a shared object named like a provider module but without
 * its entry point: the registry must skip it and say why (test_modules). */
int lc_test_not_a_module(void);
int lc_test_not_a_module(void)
{
    return 0;
}
