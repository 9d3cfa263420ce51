#include "tap.h"
static void t_(void){CHECK(1);}
int main(int c,char**v){static const tap_test T[]={{"x",t_}};return tap_main(T,1,c,v);}
