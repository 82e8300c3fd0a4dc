import { MigrationInterface, QueryRunner } from 'typeorm';

/** Who created each channel, for the per-user channel quota; channels from before stay unattributed. */
export class ChannelCreators1796210664637 implements MigrationInterface {
  name = 'ChannelCreators1796210664637';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "channels" ADD "created_by" character varying(32)`);
    await queryRunner.query(`CREATE INDEX "IDX_channels_created_by" ON "channels" ("created_by")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_channels_created_by"`);
    await queryRunner.query(`ALTER TABLE "channels" DROP COLUMN "created_by"`);
  }
}
