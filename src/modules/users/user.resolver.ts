import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from "type-graphql";
import { idArgument } from "../../shared/input-check";
import type { Context } from "../../graphql/context";
import type { LoaderFactory } from "../../graphql/loaders";
import { User, UserStatus } from "./user.type";

@Resolver(() => User)
export class UserResolver {
  constructor(
    private readonly publicUsers: LoaderFactory<string, User | null>,
    private readonly privateFor: (viewer: Context["viewer"], id: string) => Promise<User | null>,
  ) {}

  @Query(() => User, { nullable: true, description: "A user's public profile (private fields too for holders of users:read); null when there is none." })
  async user(@Arg("id", () => ID) id: string, @Ctx() context: Context): Promise<User | null> {
    const userId = idArgument("id", id);
    return (await this.privateFor(context.viewer, userId)) ?? context.loaders.get(this.publicUsers).load(userId);
  }
}

/** Private fields: null unless the User was loaded for the user themself. */
@Resolver(() => User)
export class UserPrivateResolver {
  @FieldResolver(() => String, { nullable: true, description: "Visible to the user themself only." })
  email(@Root() user: User): string | null {
    return user.private?.email ?? null;
  }

  @FieldResolver(() => Boolean, { nullable: true, description: "Visible to the user themself only." })
  emailVerified(@Root() user: User): boolean | null {
    return user.private?.emailVerified ?? null;
  }

  @FieldResolver(() => UserStatus, { nullable: true, description: "Visible to the user themself only." })
  status(@Root() user: User): string | null {
    return user.private?.status ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: "Visible to the user themself only." })
  name(@Root() user: User): string | null {
    return user.private?.name ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: "E.164. Visible to the user themself only." })
  phone(@Root() user: User): string | null {
    return user.private?.phone ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: "BCP 47. Visible to the user themself only." })
  locale(@Root() user: User): string | null {
    return user.private?.locale ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: "IANA time zone. Visible to the user themself only." })
  timezone(@Root() user: User): string | null {
    return user.private?.timezone ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: "ISO 4217. Visible to the user themself only." })
  preferredCurrency(@Root() user: User): string | null {
    return user.private?.preferredCurrency ?? null;
  }

  @FieldResolver(() => [String], { nullable: true, description: "Visible to the user themself only." })
  roles(@Root() user: User): string[] | null {
    return user.private?.roles ?? null;
  }

  @FieldResolver(() => Date, { nullable: true, description: "Visible to the user themself only." })
  createdAt(@Root() user: User): Date | null {
    return user.private?.createdAt ?? null;
  }

  @FieldResolver(() => Date, { nullable: true, description: "Visible to the user themself only." })
  updatedAt(@Root() user: User): Date | null {
    return user.private?.updatedAt ?? null;
  }
}
