/* Every subcommand has one signature; prof.c dispatches by name. */
#ifndef PROF_COMMANDS_H
#define PROF_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif
